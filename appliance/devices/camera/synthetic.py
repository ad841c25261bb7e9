"""A synthetic camera: four coloured quadrants, a moving bar, the frame number and the time.

Tests check the quadrant colours in the browser's decoded video; the moving bar makes every
frame differ, as a real camera's do. With `grain` the picture carries sensor noise, as a real
camera's does: the encoder then needs every bit it is allowed (the plain pattern fills only
30-50 kbit/s at any target, which leaves a bandwidth estimate nothing to follow).
"""

from __future__ import annotations

import time
from fractions import Fraction

import av
import cv2
import numpy as np
from aiortc import VideoStreamTrack

# BGR colours of the quadrants: top left red, top right green, bottom left blue, bottom right white.
QUADRANTS = ((0, 0, 255), (0, 200, 0), (255, 0, 0), (255, 255, 255))


def pattern(width: int, height: int) -> np.ndarray:
    """The still part of the test picture."""
    image = np.zeros((height, width, 3), np.uint8)
    h, w = height // 2, width // 2
    image[:h, :w], image[:h, w:], image[h:, :w], image[h:, w:] = QUADRANTS
    return image


class SyntheticCamera(VideoStreamTrack):
    """A video track drawing the test picture at the configured size and rate.

    Frames are drawn straight into a new frame's YUV 4:2:0 planes, the encoder's input format:
    converting every frame from RGB cost about a quarter of the appliance's CPU per call, and
    going through `VideoFrame.from_ndarray` still six times what copying the planes costs.
    """

    kind = "video"

    GRAIN_FRAMES = 16  # noisy versions of the still picture, shown in turn

    def __init__(self, width: int, height: int, fps: int, grain: int = 0) -> None:
        super().__init__()
        width, height = width - width % 2, height - height % 2  # 4:2:0 needs even sizes
        self.width, self.height, self.fps = width, height, fps
        i420 = cv2.cvtColor(pattern(width, height), cv2.COLOR_BGR2YUV_I420)
        chroma = i420[height:].reshape(2, height // 2, width // 2)  # U, then V
        planes = (i420[:height], chroma[0], chroma[1])
        # Each plane as the frame stores it: rows padded to the frame's line size.
        probe = av.VideoFrame(width, height, "yuv420p")
        self._still = []
        for plane, frame_plane in zip(planes, probe.planes, strict=True):
            padded = np.zeros((plane.shape[0], frame_plane.line_size), np.uint8)
            padded[:, : plane.shape[1]] = plane
            self._still.append(padded)
        self._grainy: list[np.ndarray] = []
        self.grain = grain
        self._count = 0
        self._began: float | None = None
        self._time_base = Fraction(1, 90000)

    @property
    def grain(self) -> int:
        """The sensor noise's amplitude in luma steps (0: none); settable while running."""
        return self._grain

    @grain.setter
    def grain(self, amount: int) -> None:
        # Drawn once: noise per frame would cost more than the rest of the picture.
        rng = np.random.default_rng(amount)
        still = self._still[0].astype(np.int16)
        self._grainy = [
            np.clip(still + rng.integers(-amount, amount + 1, still.shape), 0, 255).astype(np.uint8)
            for _ in range(self.GRAIN_FRAMES if amount else 0)
        ]
        self._grain = amount

    async def recv(self) -> av.VideoFrame:
        """The next frame, paced at the frame rate."""
        import asyncio

        if self._began is None:
            self._began = time.monotonic()
        due = self._began + self._count / self.fps
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        stills = self._still
        if self._grainy:
            stills = [self._grainy[self._count % len(self._grainy)], *stills[1:]]
        for plane, still in zip(frame.planes, stills, strict=True):
            plane.update(still)  # type: ignore[arg-type]  # any buffer; stub: bytes
        # The Y plane: a bright bar and dark text need no colour.
        luma = np.frombuffer(memoryview(frame.planes[0]), np.uint8).reshape(self.height, -1)
        bar = (self._count * 4) % self.width
        luma[self.height // 2 - 8 : self.height // 2 + 8, bar : bar + 16] = 235
        stamp = f"{self._count:06d} {time.strftime('%H:%M:%S')}"
        cv2.putText(luma, stamp, (8, self.height - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 16, 2)
        frame.pts = int(self._count * 90000 / self.fps)
        frame.time_base = self._time_base
        self._count += 1
        return frame

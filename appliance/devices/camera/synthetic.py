"""A synthetic camera: four coloured quadrants, a moving bar, the frame number and the time.

Tests check the quadrant colours in the browser's decoded video; the moving bar makes every
frame differ, as a real camera's do.
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

    def __init__(self, width: int, height: int, fps: int) -> None:
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
        self._count = 0
        self._began: float | None = None
        self._time_base = Fraction(1, 90000)

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
        for plane, still in zip(frame.planes, self._still, strict=True):
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

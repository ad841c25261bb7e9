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

    Frames are drawn straight in YUV 4:2:0, the encoder's input format: converting every frame
    from RGB cost about a quarter of the appliance's CPU per call.
    """

    kind = "video"

    def __init__(self, width: int, height: int, fps: int) -> None:
        super().__init__()
        width, height = width - width % 2, height - height % 2  # 4:2:0 needs even sizes
        self.width, self.height, self.fps = width, height, fps
        self._still = cv2.cvtColor(pattern(width, height), cv2.COLOR_BGR2YUV_I420)
        self._count = 0
        self._start: float | None = None
        self._time_base = Fraction(1, 90000)

    async def recv(self) -> av.VideoFrame:
        """The next frame, paced at the frame rate."""
        import asyncio

        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._count / self.fps
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        image = self._still.copy()
        luma = image[: self.height]  # the Y plane: a bright bar and dark text need no colour
        bar = (self._count * 4) % self.width
        luma[self.height // 2 - 8 : self.height // 2 + 8, bar : bar + 16] = 235
        stamp = f"{self._count:06d} {time.strftime('%H:%M:%S')}"
        cv2.putText(luma, stamp, (8, self.height - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 16, 2)
        frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
        frame.pts = int(self._count * 90000 / self.fps)
        frame.time_base = self._time_base
        self._count += 1
        return frame

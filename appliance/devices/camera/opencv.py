"""A USB camera through OpenCV's VideoCapture (V4L2 on Linux)."""

from __future__ import annotations

import asyncio
from fractions import Fraction
from typing import TYPE_CHECKING, cast

import av
from aiortc import VideoStreamTrack

from appliance.errors import CameraMissing

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


class OpenCVCamera(VideoStreamTrack):
    """Frames from /dev/video<N>, read in a worker thread so the event loop never waits."""

    kind = "video"

    def __init__(self, device: int, width: int, height: int, fps: int) -> None:
        import cv2

        super().__init__()
        self._capture = cv2.VideoCapture(device)
        if not self._capture.isOpened():
            raise CameraMissing(f"no camera at /dev/video{device} (camera = 'opencv')")
        self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self._capture.set(cv2.CAP_PROP_FPS, fps)
        self._count, self._fps = 0, fps

    async def recv(self) -> av.VideoFrame:
        """The camera's next frame."""
        ok, image = await asyncio.to_thread(self._capture.read)
        if not ok:
            raise CameraMissing("the camera stopped delivering frames")
        frame = av.VideoFrame.from_ndarray(cast("NDArray[np.uint8]", image), format="bgr24")
        frame.pts, frame.time_base = int(self._count * 90000 / self._fps), Fraction(1, 90000)
        self._count += 1
        return frame

    def stop(self) -> None:
        """Release the device."""
        super().stop()
        self._capture.release()

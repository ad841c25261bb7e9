"""The Raspberry Pi camera through picamera2 (Raspberry Pi OS: apt install python3-picamera2)."""

from __future__ import annotations

import asyncio
from fractions import Fraction

import av
from aiortc import VideoStreamTrack

from appliance.errors import CameraMissing


class PiCamera(VideoStreamTrack):
    """Frames from the Pi camera in YUV420, handed to aiortc's encoder."""

    kind = "video"

    def __init__(self, width: int, height: int, fps: int) -> None:
        try:
            from picamera2 import Picamera2  # only on Raspberry Pi OS
        except ImportError:
            raise CameraMissing(
                "picamera2 is not installed: on Raspberry Pi OS run "
                "'apt install python3-picamera2' and create the virtualenv with "
                "--system-site-packages; elsewhere use camera = 'opencv' or 'synthetic'"
            ) from None
        super().__init__()
        try:
            self._camera = Picamera2()
        except (RuntimeError, IndexError) as exc:
            raise CameraMissing(f"no Raspberry Pi camera found ({exc})") from None
        config = self._camera.create_video_configuration(
            main={"size": (width, height), "format": "YUV420"},
            controls={"FrameRate": fps},
        )
        self._camera.configure(config)
        self._camera.start()
        self._count, self._fps = 0, fps

    async def recv(self) -> av.VideoFrame:
        """The camera's next frame."""
        array = await asyncio.to_thread(self._camera.capture_array, "main")
        frame = av.VideoFrame.from_ndarray(array, format="yuv420p")
        frame.pts, frame.time_base = int(self._count * 90000 / self._fps), Fraction(1, 90000)
        self._count += 1
        return frame

    def stop(self) -> None:
        """Stop the camera."""
        super().stop()
        self._camera.stop()

"""A camera as document camera: a still (from the call's camera track, a USB camera through
OpenCV, or a Raspberry Pi camera through picamera2) turned into a flat page by `page.py`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np
from numpy.typing import NDArray

from appliance.devices.scanner.interface import Page, ScanMode
from appliance.errors import ScannerFailed, ScannerMissing
from protocol.kiosk import DeviceHealth

if TYPE_CHECKING:
    from aiortc import MediaStreamTrack
    from aiortc.contrib.media import MediaRelay
    from av import VideoFrame

STILL_TIMEOUT_S = 10.0
WARM_UP_FRAMES = 5  # a USB camera's first frames are dark until its exposure settles
STILL_SIZE = (4000, 3000)  # asked of a USB camera; it answers with the nearest it has


class StillSource(Protocol):
    """Where the document camera's stills come from: BGR frames, as OpenCV reads them."""

    name: str

    async def still(self) -> NDArray[np.uint8]:
        """One frame (ScannerMissing or ScannerFailed when there is none)."""
        ...

    async def check(self) -> DeviceHealth:
        """Whether stills can be had, quickly."""
        ...


class DocumentCamera:
    """A scanner made of a camera: each scan is one still, flattened and cleaned up."""

    def __init__(self, source: StillSource, mode: ScanMode = "gray") -> None:
        self.source, self.mode = source, mode
        self.name = f"camera:{source.name}"

    async def scan(self) -> Page:
        """The page lying under the camera now (the whole picture when no page is found)."""
        from appliance.devices.scanner.page import to_page

        frame = await self.source.still()
        return await asyncio.to_thread(to_page, frame, self.mode)

    async def check(self) -> DeviceHealth:
        """The camera's own check."""
        return await self.source.check()


class TrackStill:
    """Stills from a video track shared through the relay: the call's own camera, so a
    counter with one camera can hold a page up to it. Only as sharp as the call's video."""

    name = "call"

    def __init__(self, relay: MediaRelay, track: MediaStreamTrack) -> None:
        self.relay, self.track = relay, track

    async def still(self) -> NDArray[np.uint8]:
        """The track's next frame."""
        frame = await self._frame(STILL_TIMEOUT_S)
        return cast("NDArray[np.uint8]", frame.to_ndarray(format="bgr24"))

    async def check(self) -> DeviceHealth:
        """ok when the track delivers a frame within two seconds."""
        try:
            await self._frame(2.0)
        except ScannerFailed:
            return "stalled"
        except ScannerMissing:
            return "absent"
        return "ok"

    async def _frame(self, timeout: float) -> VideoFrame:
        from aiortc.mediastreams import MediaStreamError

        if self.track.readyState == "ended":
            raise ScannerMissing("the camera's track has ended (camera = the call's camera)")
        reader = self.relay.subscribe(self.track, buffered=False)
        try:
            return cast("VideoFrame", await asyncio.wait_for(reader.recv(), timeout))
        except TimeoutError:
            raise ScannerFailed(f"the camera delivered no frame within {timeout:g} s") from None
        except MediaStreamError:
            raise ScannerMissing("the camera stopped delivering frames") from None
        finally:
            reader.stop()


class OpenCVStill:
    """Stills from a USB camera (/dev/video<N>) through OpenCV, opened for each still: between
    scans the camera is free and draws no power."""

    def __init__(self, device: int, size: tuple[int, int] = STILL_SIZE) -> None:
        self.device, self.size = device, size
        self.name = f"/dev/video{device}"
        self._failed = False

    async def still(self) -> NDArray[np.uint8]:
        """One frame at the camera's largest size up to `size`."""
        try:
            frame = await asyncio.to_thread(self._capture)
        except ScannerMissing:
            self._failed = True
            raise
        self._failed = False
        return frame

    def _capture(self) -> NDArray[np.uint8]:
        import cv2

        capture = cv2.VideoCapture(self.device)
        try:
            if not capture.isOpened():
                raise ScannerMissing(
                    f"no camera at {self.name} (document_camera_device); "
                    "'v4l2-ctl --list-devices' lists them"
                )
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
            ok, image = False, None
            for _ in range(WARM_UP_FRAMES):
                ok, image = capture.read()
            if not ok or image is None:
                raise ScannerMissing(f"the camera at {self.name} delivered no picture")
            return np.asarray(image, np.uint8)
        finally:
            capture.release()

    async def check(self) -> DeviceHealth:
        """absent without its device file; stalled when the last still failed; else ok (the
        camera is not opened for the check: it would light up every few seconds)."""
        if not Path(self.name).exists():
            return "absent"
        return "stalled" if self._failed else "ok"


class PiCameraStill:
    """Stills from a Raspberry Pi camera at its full resolution (picamera2), for a second
    camera that looks down on the desk; the call's camera cannot be opened twice."""

    def __init__(self, camera: int) -> None:
        self.camera = camera
        self.name = f"picamera2:{camera}"

    async def still(self) -> NDArray[np.uint8]:
        """One still at the sensor's full size."""
        return await asyncio.to_thread(self._capture)

    def _capture(self) -> NDArray[np.uint8]:
        picamera2 = _picamera2()
        try:
            camera = picamera2.Picamera2(self.camera)
        except (RuntimeError, IndexError) as exc:
            raise ScannerMissing(f"no Raspberry Pi camera {self.camera} ({exc})") from None
        try:
            # "RGB888" is, despite its name, B, G, R in memory: OpenCV's order.
            camera.configure(camera.create_still_configuration(main={"format": "RGB888"}))
            camera.start()
            return np.asarray(camera.capture_array("main"), np.uint8)
        finally:
            camera.close()

    async def check(self) -> DeviceHealth:
        """ok when libcamera lists the camera."""
        try:
            cameras = _picamera2().Picamera2.global_camera_info()
        except ScannerMissing:
            return "absent"
        return "ok" if len(cameras) > self.camera else "absent"


def _picamera2() -> Any:
    """picamera2, imported when first needed (it exists only on Raspberry Pi OS)."""
    try:
        import picamera2
    except ImportError:
        raise ScannerMissing(
            "picamera2 is not installed: on Raspberry Pi OS run 'apt install python3-picamera2' "
            "and create the virtualenv with --system-site-packages"
        ) from None
    return picamera2

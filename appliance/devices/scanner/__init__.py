"""The counter's scanner behind one interface: a SANE flatbed scanner (`scanimage`), a camera
as document camera, or a synthetic photographed page. Backends load lazily; `pdf` makes the
pages one PDF, `session` keeps the pages of a scan until they are sent."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from appliance.devices.scanner.interface import Page, ScanMode, Scanner
from appliance.errors import ScannerFailed, ScannerMissing

if TYPE_CHECKING:
    from aiortc import MediaStreamTrack
    from aiortc.contrib.media import MediaRelay

    from appliance.config import ApplianceSettings
    from appliance.devices.scanner.camera import StillSource

__all__ = [
    "Page",
    "ScanMode",
    "Scanner",
    "ScannerFailed",
    "ScannerMissing",
    "open_scanner",
]


def open_scanner(
    settings: ApplianceSettings,
    camera: MediaStreamTrack | None = None,
    relay: MediaRelay | None = None,
) -> Scanner | None:
    """The configured scanner, or None without one. Nothing is opened yet: a scanner that is
    not plugged in must not keep the counter from its calls; `check` and `scan` say so.
    `camera` and `relay` are the call's camera and its relay, for `document_camera = "call"`."""
    if settings.scanner == "none":
        return None
    mode = settings.scanner_mode
    if settings.scanner == "sane":
        from appliance.devices.scanner.sane import SaneScanner

        options = shlex.split(settings.scanner_options)
        return SaneScanner(settings.scanner_device, settings.scanner_resolution, mode, options)
    from appliance.devices.scanner.camera import DocumentCamera

    source: StillSource
    if settings.scanner == "synthetic":
        from appliance.devices.scanner.synthetic import SyntheticStill

        source = SyntheticStill()
    elif settings.document_camera == "opencv":
        from appliance.devices.scanner.camera import OpenCVStill

        source = OpenCVStill(settings.document_camera_device)
    elif settings.document_camera == "picamera2":
        from appliance.devices.scanner.camera import PiCameraStill

        source = PiCameraStill(settings.document_camera_device)
    else:
        from appliance.devices.scanner.camera import TrackStill

        if camera is None or relay is None:
            raise ValueError("document_camera = 'call' needs the call's camera and its relay")
        source = TrackStill(relay, camera)
    return DocumentCamera(source, mode)

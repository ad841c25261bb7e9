"""Cameras behind one interface: a factory of aiortc video tracks. Backends load lazily."""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.errors import CameraMissing

if TYPE_CHECKING:
    from aiortc import MediaStreamTrack

    from appliance.config import ApplianceSettings


__all__ = ["CameraMissing", "open_camera"]


def open_camera(settings: ApplianceSettings) -> MediaStreamTrack:
    """The video track of the configured camera (one per appliance; calls share it)."""
    if settings.camera == "synthetic":
        from appliance.devices.camera.synthetic import SyntheticCamera

        return SyntheticCamera(settings.width, settings.height, settings.fps, settings.camera_grain)
    if settings.camera == "opencv":
        from appliance.devices.camera.opencv import OpenCVCamera

        return OpenCVCamera(settings.camera_device, settings.width, settings.height, settings.fps)
    from appliance.devices.camera.picamera import PiCamera

    return PiCamera(settings.width, settings.height, settings.fps)

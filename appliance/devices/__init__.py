"""The counter's devices: camera, microphone, speaker and scanner, each opened from the
settings with its backend loaded lazily; camera and microphone are shared by every call through
one relay. `health` watches that each one delivers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiortc.contrib.media import MediaRelay

from appliance.devices.audio import open_microphone, open_speaker
from appliance.devices.camera import open_camera
from appliance.devices.scanner import open_scanner

if TYPE_CHECKING:
    from aiortc import MediaStreamTrack

    from appliance.config import ApplianceSettings
    from appliance.devices.audio.speaker import AlsaSpeaker
    from appliance.devices.scanner import Scanner


@dataclass
class Devices:
    """The opened devices; `relay` hands each reader its own view of a shared track."""

    camera: MediaStreamTrack
    microphone: MediaStreamTrack | None
    speaker: AlsaSpeaker | None
    relay: MediaRelay
    scanner: Scanner | None = None


def open_devices(settings: ApplianceSettings) -> Devices:
    """Open what the settings name (DeviceMissing says what to check when one is not there)."""
    camera, relay = open_camera(settings), MediaRelay()
    return Devices(
        camera=camera,
        microphone=open_microphone(settings),
        speaker=open_speaker(settings),
        relay=relay,
        scanner=open_scanner(settings, camera, relay),
    )

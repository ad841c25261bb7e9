"""The counter's devices: camera, microphone and speaker (the scanner comes next), each opened
from the settings with its backend loaded lazily, and shared by every call through one relay.
`health` watches that each one delivers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiortc.contrib.media import MediaRelay

from appliance.devices.audio import open_microphone, open_speaker
from appliance.devices.camera import open_camera

if TYPE_CHECKING:
    from aiortc import MediaStreamTrack

    from appliance.config import ApplianceSettings
    from appliance.devices.audio.speaker import AlsaSpeaker


@dataclass
class Devices:
    """The opened devices; `relay` hands each reader its own view of a shared track."""

    camera: MediaStreamTrack
    microphone: MediaStreamTrack | None
    speaker: AlsaSpeaker | None
    relay: MediaRelay


def open_devices(settings: ApplianceSettings) -> Devices:
    """Open what the settings name (DeviceMissing says what to check when one is not there)."""
    return Devices(
        camera=open_camera(settings),
        microphone=open_microphone(settings),
        speaker=open_speaker(settings),
        relay=MediaRelay(),
    )

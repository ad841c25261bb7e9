"""Microphone sources and speaker sinks: ALSA through PyAV (PulseAudio and PipeWire through
ALSA's `pulse` device), or synthetic ones. Backends load lazily."""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.devices.audio.alsa import ALSA_CONFIG, alsa_device, configure_alsa
from appliance.errors import AudioDeviceMissing

if TYPE_CHECKING:
    from aiortc import MediaStreamTrack

    from appliance.config import ApplianceSettings
    from appliance.devices.audio.speaker import AlsaSpeaker

__all__ = ["ALSA_CONFIG", "AudioDeviceMissing", "open_microphone", "open_speaker"]


def open_microphone(settings: ApplianceSettings) -> MediaStreamTrack | None:
    """The configured microphone's track, or None without audio."""
    if settings.audio == "none":
        return None
    if settings.audio == "synthetic":
        from appliance.devices.audio.synthetic import ToneSource

        return ToneSource()
    import av
    from aiortc.contrib.media import MediaPlayer

    configure_alsa()
    device = alsa_device(settings.audio, settings.audio_device)
    try:
        player = MediaPlayer(
            device, format="alsa", options={"channels": "1", "sample_rate": "48000"}
        )
    except (av.FFmpegError, OSError) as exc:
        raise AudioDeviceMissing(
            f"no microphone at ALSA device {device!r} (audio = {settings.audio!r}): {exc}; "
            "'arecord -L' lists the devices"
        ) from None
    return player.audio


def open_speaker(settings: ApplianceSettings) -> AlsaSpeaker | None:
    """Where the citizen's voice is played by the daemon itself; None when the clerk's screen
    plays it (speaker = "kiosk") or nothing does."""
    if settings.speaker in ("kiosk", "none"):
        return None
    from appliance.devices.audio.speaker import AlsaSpeaker

    return AlsaSpeaker(alsa_device(settings.speaker, settings.speaker_device))

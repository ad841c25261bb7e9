"""Microphone sources and speaker sinks: ALSA/PulseAudio through PyAV, or synthetic ones."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiortc import MediaStreamTrack

    from appliance.config import ApplianceSettings


def open_microphone(settings: ApplianceSettings) -> MediaStreamTrack | None:
    """The configured microphone's track, or None without audio."""
    if settings.audio == "none":
        return None
    if settings.audio == "synthetic":
        from appliance.audio.synthetic import ToneSource

        return ToneSource()
    from aiortc.contrib.media import MediaPlayer

    return MediaPlayer(settings.audio_device, format=settings.audio).audio

"""Microphone sources and speaker sinks: ALSA through PyAV (PulseAudio and PipeWire through
ALSA's `pulse` device), or synthetic ones. Backends load lazily."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.errors import DeviceMissing

if TYPE_CHECKING:
    from aiortc import MediaStreamTrack

    from appliance.devices.audio.speaker import AlsaSpeaker
    from appliance.config import ApplianceSettings


class AudioDeviceMissing(DeviceMissing):
    """The configured microphone or speaker is not there; the message says what to check."""


# Where Debian and Raspberry Pi OS keep ALSA's configuration and plugins. PyAV's wheels bring
# their own libasound, built to look elsewhere: without these it knows no device names at all
# ("default", "hw:1,0", "pulse" are all defined by this configuration).
ALSA_CONFIG = Path("/usr/share/alsa/alsa.conf")
ALSA_PLUGINS = "*-linux-gnu*/alsa-lib"  # under /usr/lib, one per architecture


def configure_alsa() -> None:
    """Point the ALSA library at the system's configuration and plugins (unless set)."""
    if ALSA_CONFIG.exists():
        os.environ.setdefault("ALSA_CONFIG_PATH", str(ALSA_CONFIG))
    plugins = next(Path("/usr/lib").glob(ALSA_PLUGINS), None)
    if plugins is not None:
        os.environ.setdefault("ALSA_PLUGIN_DIR", str(plugins))


def alsa_device(kind: str, device: str) -> str:
    """The ALSA device name for `audio`/`speaker` = `kind` ("pulse" goes through ALSA's pulse
    device: PyAV's FFmpeg reads and writes ALSA only)."""
    if kind == "pulse" and device == "default":
        return "pulse"
    return device


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

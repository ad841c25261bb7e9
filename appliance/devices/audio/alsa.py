"""Where PyAV finds ALSA's configuration, and ALSA device names per setting."""

from __future__ import annotations

import os
from pathlib import Path

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

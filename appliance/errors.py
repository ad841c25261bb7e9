"""Errors the appliance reports to whoever set it up, in words that say what to check."""

from __future__ import annotations

import errno


class DeviceMissing(RuntimeError):
    """A configured device (camera, microphone, speaker, encoder) is not there."""


class CameraMissing(DeviceMissing):
    """The configured camera is not there; the message says what to check."""


class AudioDeviceMissing(DeviceMissing):
    """The configured microphone or speaker is not there; the message says what to check."""


class ScannerMissing(DeviceMissing):
    """The configured scanner or document camera is not there; the message says what to check."""


class ScannerFailed(RuntimeError):
    """The scanner is there but a scan did not work (it hung, refused an option, sent no
    image); the message says what it answered."""


class KioskPortUnavailable(RuntimeError):
    """The counter screen's port on 127.0.0.1 is taken by another program (or not allowed)."""

    def __init__(self, port: int, error: OSError) -> None:
        in_use = error.errno == errno.EADDRINUSE
        super().__init__(f"port {port} is in use" if in_use else f"port {port}: {error.strerror}")

"""Errors the appliance reports to whoever set it up, in words that say what to check."""

from __future__ import annotations


class DeviceMissing(RuntimeError):
    """A configured device (camera, microphone, speaker, encoder) is not there."""

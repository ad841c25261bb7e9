"""The appliance's own release, as the enrolment request and the heartbeat name it."""

from __future__ import annotations

import importlib.metadata


def software_version() -> str:
    """The installed package's version ("0+unknown" when run from a tree not installed)."""
    try:
        return importlib.metadata.version("buergeramt-virtuell")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"

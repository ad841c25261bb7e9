"""Connection quality as the clerk sees it, from round-trip time and packet loss."""

from __future__ import annotations

from typing import Literal

Quality = Literal["good", "fair", "poor", "unknown"]


def rate(round_trip_s: float | None, loss: float | None) -> Quality:
    """good: smooth; fair: noticeable delay or artefacts; poor: hard to talk."""
    if round_trip_s is None and loss is None:
        return "unknown"
    rtt, lost = round_trip_s or 0.0, loss or 0.0
    if rtt > 0.6 or lost > 0.10:
        return "poor"
    if rtt > 0.25 or lost > 0.03:
        return "fair"
    return "good"

"""Connection quality as the clerk sees it, from round-trip time and packet loss."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from aiortc.stats import RTCInboundRtpStreamStats, RTCRemoteInboundRtpStreamStats

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


def from_stats(report: Iterable[object], seen: dict[int, tuple[int, int]]) -> Quality:
    """Rate a peer connection's statistics: the round trip and loss the browser reports for
    what it receives, and the loss of what arrives here since the last call (`seen` keeps
    each incoming stream's packet counts between calls)."""
    rtts: list[float] = []
    losses: list[float] = []
    for stats in report:
        if isinstance(stats, RTCRemoteInboundRtpStreamStats):
            # None until the first receiver report; loss is RTCP's 8-bit fraction (of 256).
            if stats.roundTripTime is not None:
                rtts.append(stats.roundTripTime)
            if stats.fractionLost is not None:
                losses.append(stats.fractionLost / 256)
        elif isinstance(stats, RTCInboundRtpStreamStats):
            before = seen.get(stats.ssrc, (0, 0))
            now = seen[stats.ssrc] = (stats.packetsReceived, max(stats.packetsLost, 0))
            received, lost = now[0] - before[0], now[1] - before[1]
            if received + lost > 0:
                losses.append(lost / (received + lost))
    return rate(max(rtts) if rtts else None, max(losses) if losses else None)

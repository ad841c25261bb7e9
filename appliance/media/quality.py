"""Connection quality as the clerk sees it, from round-trip time and packet loss.

Both screens rate alike (the citizen's page in hub/web/static/call.js): good below 150 ms round
trip and 1 % loss, poor from 400 ms or 10 %, fair between. 1 % is where loss starts to show: a
lost audio packet is 20 ms of concealed sound, and at 150 ms round trip a retransmitted video
packet often comes too late for its frame. Loss is counted over the last ten seconds (a short
window of a 2 % link often shows none, and the screen would flicker between good and fair);
the round trip is the median of the last three reports (the lower of two).
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Iterable
from typing import Literal

from aiortc.stats import (
    RTCInboundRtpStreamStats,
    RTCOutboundRtpStreamStats,
    RTCRemoteInboundRtpStreamStats,
)

Quality = Literal["good", "fair", "poor", "unknown"]
FAIR_RTT_S, POOR_RTT_S = 0.15, 0.4
FAIR_LOSS, POOR_LOSS = 0.01, 0.10
WINDOW = 6  # looks (every 2 s: the last ten seconds between the oldest and the newest)
RTT_LOOKS = 3
MIN_PACKETS = 50  # fewer packets in the window say nothing about loss


def rate(round_trip_s: float | None, loss: float | None) -> Quality:
    """good: smooth; fair: noticeable delay or artefacts; poor: hard to talk."""
    if round_trip_s is None and loss is None:
        return "unknown"
    rtt, lost = round_trip_s or 0.0, loss or 0.0
    if rtt >= POOR_RTT_S or lost >= POOR_LOSS:
        return "poor"
    if rtt >= FAIR_RTT_S or lost >= FAIR_LOSS:
        return "fair"
    return "good"


class QualityWatch:
    """Rates a peer connection's statistics, looked at every few seconds: the round trip the
    browser reports, the loss of what arrives here and of what the browser receives (its
    receiver reports), each stream's loss over the window."""

    def __init__(self) -> None:
        # per stream ("in"/"out", ssrc): (packets, lost) at each look, oldest first
        self._counts: dict[tuple[str, int], deque[tuple[int, int]]] = {}
        self._rtts: deque[float] = deque(maxlen=RTT_LOOKS)

    def _loss(self, stream: tuple[str, int], packets: int, lost: int) -> float | None:
        history = self._counts.setdefault(stream, deque(maxlen=WINDOW))
        history.append((packets, max(lost, 0)))
        (packets0, lost0), (packets1, lost1) = history[0], history[-1]
        total = packets1 - packets0
        return (lost1 - lost0) / total if total >= MIN_PACKETS else None

    def rate(self, report: Iterable[object]) -> Quality:
        """The quality after one more look at the statistics."""
        stats = list(report)
        sent = {s.ssrc: s.packetsSent for s in stats if isinstance(s, RTCOutboundRtpStreamStats)}
        rtts: list[float] = []
        losses: list[float] = []
        for s in stats:
            loss = None
            if isinstance(s, RTCRemoteInboundRtpStreamStats):
                # None until the first receiver report
                if s.roundTripTime is not None:
                    rtts.append(s.roundTripTime)
                if s.ssrc in sent:
                    loss = self._loss(("out", s.ssrc), sent[s.ssrc], s.packetsLost)
            elif isinstance(s, RTCInboundRtpStreamStats):
                expected = s.packetsReceived + max(s.packetsLost, 0)
                loss = self._loss(("in", s.ssrc), expected, s.packetsLost)
            if loss is not None:
                losses.append(loss)
        if rtts:
            self._rtts.append(max(rtts))
        rtt = statistics.median_low(self._rtts) if self._rtts else None
        return rate(rtt, max(losses) if losses else None)

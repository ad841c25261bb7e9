"""What the appliance's video does when the citizen's link gets narrower than what it sends.

The browser's estimate (REMB) follows the delay it sees grow and takes about a second to come
down to a new cap; meanwhile the queue before the narrow link overflows and drops speech as
well as video. Two rules of libwebrtc's sender keep that second short:

**Resends within a budget.** aiortc resends every packet named in every NACK. On a link that
has just become narrower, the browser names the same packets again each round trip while the
earlier copies wait in the full queue, and the copies crowd out the traffic that fits:
measured on a link capped at 300 kbit/s, about 1 Mbit/s of resends in the second after the
cap, and a second of lost speech although the video was already down to 180 kbit/s. So a
packet is sent again at most once per round trip, and all resends together stay within a
share of the video bitrate; a packet refused here is covered by the keyframe the browser
asks for next.

**A ceiling from loss.** When the browser's receiver reports (RTCP) show more than a tenth
of the video lost over the last 20 packets or more (a report comes with every NACK, a few
packets apart: one loss in three packets is no reason to cut), the bitrate is cut at once by
half the share lost (Google Congestion Control's loss-based rule), whatever the estimate
says; the ceiling then grows by 5 % every 100 ms without such a cut, and is gone once it is
above any bitrate the appliance uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable

SHARE = 0.2  # resends may add at most a fifth to the video bitrate
BURST_S = 0.25  # how much of that budget may be spent at once (but always two packets)
PACKET_BYTES = 1200  # aiortc's packetizers fill packets up to about this (the budget's unit)
MIN_GAP_S = 0.1  # the least time between two resends of one packet, whatever the round trip
REMEMBERED = 1024  # sequence numbers kept (an aiortc sender keeps 128 packets to resend)
HIGH_LOSS = 0.1  # above this share lost, the bitrate is cut
WINDOW_PACKETS = 20  # loss is judged over at least this many packets
GROWTH, GROWTH_STEP_S = 1.05, 0.1  # how fast the ceiling rises again


class ResendBudget:
    """Allows or refuses each asked-for resend (a token bucket of bytes, and one resend per
    packet per round trip)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tokens = 0.0
        self._filled_at: float | None = None
        self._last: dict[int, float] = {}
        self.allowed = self.refused = 0

    def allow(self, sequence: int, bitrate: int, rtt_s: float | None) -> bool:
        """Whether to send packet `sequence` again now, at `bitrate` (bit/s) for the video."""
        now = self._clock()
        rate = SHARE * bitrate / 8  # bytes per second
        # At a low bitrate a quarter second of the share is less than a packet.
        burst = max(rate * BURST_S, 2 * PACKET_BYTES)
        if self._filled_at is None:
            self._tokens = burst
        else:
            self._tokens = min(burst, self._tokens + rate * (now - self._filled_at))
        self._filled_at = now
        last = self._last.get(sequence)
        if last is not None and now - last < max(MIN_GAP_S, rtt_s or 0.0):
            self.refused += 1
            return False
        if self._tokens < PACKET_BYTES:
            self.refused += 1
            return False
        self._tokens -= PACKET_BYTES
        self._last[sequence] = now
        if len(self._last) > REMEMBERED:  # forget the oldest half (dicts keep insertion order)
            for old in list(self._last)[: REMEMBERED // 2]:
                del self._last[old]
        self.allowed += 1
        return True


class LossCeiling:
    """A ceiling on the video bitrate from the loss the browser reports."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._ceiling: float | None = None
        self._set_at = 0.0
        self._window: tuple[int, int] | None = None  # highest sequence, lost, at its start

    def report(self, highest_sequence: int, packets_lost: int, bitrate: int) -> None:
        """A receiver report for the video: its extended highest sequence number and the
        packets lost in all, while sending at `bitrate`."""
        if self._window is None or highest_sequence < self._window[0]:  # first, or a new stream
            self._window = (highest_sequence, packets_lost)
            return
        expected = highest_sequence - self._window[0]
        if expected < WINDOW_PACKETS:
            return
        lost = max(0, packets_lost - self._window[1]) / expected
        self._window = (highest_sequence, packets_lost)
        if lost > HIGH_LOSS:
            cut = bitrate * (1 - 0.5 * min(lost, 1.0))
            current = self.ceiling()
            self._ceiling = cut if current is None else min(current, cut)
            self._set_at = self._clock()

    def ceiling(self, above: float = float("inf")) -> float | None:
        """The highest bitrate allowed now (None: no ceiling, or one above `above`)."""
        if self._ceiling is None:
            return None
        steps = (self._clock() - self._set_at) / GROWTH_STEP_S
        grown = self._ceiling * GROWTH**steps
        if grown > above:
            self._ceiling = None
            return None
        return grown

    def limit(self, bitrate: int, floor: int, top: int) -> int:
        """`bitrate` (the browser's estimate) under the ceiling, within floor..top."""
        ceiling = self.ceiling(above=top)
        allowed = bitrate if ceiling is None else min(bitrate, int(ceiling))
        return max(floor, min(allowed, top))

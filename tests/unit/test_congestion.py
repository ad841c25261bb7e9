"""The appliance's rules for a narrowing link (appliance/media/congestion.py), on a clock the
test moves."""

from __future__ import annotations

import pytest

from appliance.media.congestion import (
    BURST_S,
    GROWTH,
    PACKET_BYTES,
    SHARE,
    LossCeiling,
    ResendBudget,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_packet_is_resent_at_most_once_per_round_trip():
    clock = Clock()
    budget = ResendBudget(clock)
    assert budget.allow(7, 2_000_000, rtt_s=0.3)
    clock.now += 0.2
    assert not budget.allow(7, 2_000_000, rtt_s=0.3)  # the first copy may still be on its way
    assert budget.allow(8, 2_000_000, rtt_s=0.3)  # another packet is not held back by it
    clock.now += 0.15
    assert budget.allow(7, 2_000_000, rtt_s=0.3)  # a round trip later: lost again, resent
    clock.now += 0.05
    assert not budget.allow(7, 2_000_000, rtt_s=None)  # no round trip known yet: 100 ms


def test_resends_stay_within_a_fifth_of_the_video_bitrate():
    clock = Clock()
    budget = ResendBudget(clock)
    bitrate = 500_000
    # A burst of 50 lost packets at once: only what the burst allows goes out.
    at_once = sum(budget.allow(seq, bitrate, 0.05) for seq in range(50))
    assert at_once == int(SHARE * bitrate / 8 * BURST_S // PACKET_BYTES) == 2
    # A second of NACKs for 200 new packets: about 20 % of 500 kbit/s in packets of 1200 bytes.
    sent = 0
    for seq in range(100, 300):
        clock.now += 0.005
        sent += budget.allow(seq, bitrate, 0.05)
    expected = SHARE * bitrate / 8 / PACKET_BYTES  # 10.4 per second
    assert expected - 1.5 <= sent <= expected + 1.5
    assert budget.allowed == at_once + sent
    assert budget.refused == 250 - budget.allowed
    # At four times the bitrate, four times as many.
    clock.now += 10
    fast = ResendBudget(clock)
    fast_sent = 0
    for seq in range(200):
        clock.now += 0.005
        fast_sent += fast.allow(seq, 4 * bitrate, 0.05)
    assert fast_sent >= 3.5 * sent


def test_many_nacks_keep_only_a_bounded_memory_of_sequence_numbers():
    clock = Clock()
    budget = ResendBudget(clock)
    for seq in range(100_000):
        clock.now += 0.01
        budget.allow(seq % 65536, 10_000_000, 0.05)
    assert len(budget._last) <= 1024


class Reports:
    """A receiver's reports: `sent` more packets of which `lost` were lost, each time."""

    def __init__(self, ceiling: LossCeiling) -> None:
        self.ceiling, self.highest, self.lost = ceiling, 10_000, 0
        ceiling.report(self.highest, self.lost, 500_000)

    def __call__(self, sent: int, lost: int, bitrate: int) -> None:
        self.highest += sent
        self.lost += lost
        self.ceiling.report(self.highest, self.lost, bitrate)


@pytest.mark.parametrize("lost", [0, 1, 5])
def test_a_little_loss_sets_no_ceiling(lost):
    ceiling = LossCeiling(Clock())
    Reports(ceiling)(50, lost, 500_000)
    assert ceiling.ceiling() is None
    assert ceiling.limit(800_000, 100_000, 2_500_000) == 800_000


def test_loss_is_judged_over_twenty_packets_not_over_each_report():
    ceiling = LossCeiling(Clock())
    reports = Reports(ceiling)
    reports(3, 1, 500_000)  # a report with a NACK: a third of three packets lost
    assert ceiling.ceiling() is None
    for _ in range(6):
        reports(3, 0, 500_000)  # 21 packets, 1 lost: under a tenth
    assert ceiling.ceiling() is None
    reports(10, 4, 500_000)
    reports(10, 4, 500_000)  # 20 packets, 8 lost
    assert ceiling.limit(800_000, 100_000, 2_500_000) == 500_000 * 0.8


def test_heavy_loss_cuts_at_once_and_the_ceiling_rises_again_over_time():
    clock = Clock()
    ceiling = LossCeiling(clock)
    reports = Reports(ceiling)
    reports(40, 20, 400_000)  # half lost at 400 kbit/s: down by a quarter
    assert ceiling.limit(380_000, 100_000, 2_500_000) == 300_000  # the estimate is not yet down
    assert ceiling.limit(250_000, 100_000, 2_500_000) == 250_000  # a lower estimate wins
    clock.now += 1.0  # ten steps of 5 %
    assert ceiling.limit(900_000, 100_000, 2_500_000) == int(300_000 * GROWTH**10)
    reports(40, 36, 450_000)  # more loss: the lower of the two ceilings
    assert ceiling.limit(900_000, 100_000, 2_500_000) == int(450_000 * 0.55)
    clock.now += 60  # long without heavy loss: the ceiling is gone
    assert ceiling.ceiling(above=2_500_000) is None
    assert ceiling.limit(900_000, 100_000, 2_500_000) == 900_000


def test_a_new_stream_starts_a_new_window_and_the_ceiling_keeps_the_encoders_floor():
    ceiling = LossCeiling(Clock())
    reports = Reports(ceiling)
    reports.highest = 5  # sequence numbers start anew: no loss can be judged from the old ones
    reports(0, 0, 120_000)
    assert ceiling.ceiling() is None
    reports(30, 30, 120_000)  # all lost
    assert ceiling.limit(500_000, 100_000, 2_500_000) == 100_000


def test_at_the_lowest_bitrate_lost_packets_are_still_resent():
    clock = Clock()
    budget = ResendBudget(clock)
    # 100 kbit/s: a fifth is 2.5 kB/s, a quarter second of it less than one packet.
    sent = 0
    for seq in range(40):
        clock.now += 0.1
        sent += budget.allow(seq, 100_000, 0.15)
    assert 7 <= sent <= 10  # about two packets per second over four seconds, not none

"""The kiosk's own logic: the screen lock with its PIN, which screen shows, connection quality."""

import pytest

from appliance.kiosk.lock import ScreenLock, Unlock
from appliance.kiosk.screens import Screen, choose
from appliance.media.quality import rate


def signed_in(now: float = 0.0, **options) -> ScreenLock:
    lock = ScreenLock(idle_seconds=300, sign_out_seconds=3600, attempts=3, **options)
    lock.start("2468", now)
    return lock


@pytest.mark.parametrize("pin", ["", "123", "123456789", "12a4", " 1234", "１２３４"])
def test_a_pin_has_four_to_eight_ascii_digits(pin):
    assert not ScreenLock.valid_pin(pin)
    with pytest.raises(ValueError, match="4 to 8 digits"):
        ScreenLock().start(pin, 0.0)


def test_the_screen_locks_when_idle_and_the_pin_opens_it():
    lock = signed_in()
    assert lock.tick(299.0, busy=False) is False and not lock.locked
    lock.touch(200.0)  # a touch restarts the idle time
    lock.tick(499.0, busy=False)
    assert not lock.locked
    lock.tick(500.0, busy=False)
    assert lock.locked
    assert lock.unlock("2468", 510.0) is Unlock.OPENED
    assert not lock.locked and lock.last_activity == 510.0


def test_a_call_under_way_never_locks_the_screen():
    lock = signed_in()
    for second in range(0, 4000, 100):
        lock.tick(float(second), busy=True)
    assert not lock.locked
    lock.tick(3900.0 + 299, busy=False)  # the idle time starts when the call ends (3900)
    assert not lock.locked


def test_wrong_pins_count_down_and_too_many_sign_the_clerk_out():
    lock = signed_in()
    lock.lock(10.0)
    assert lock.unlock("1111", 11.0) is Unlock.WRONG
    assert lock.attempts_left == 2
    assert lock.unlock("2222", 12.0) is Unlock.WRONG
    assert lock.unlock("3333", 13.0) is Unlock.SIGN_OUT
    assert lock.locked  # still locked until the kiosk signs the clerk out and clears it


def test_a_long_lock_signs_the_clerk_out():
    lock = signed_in()
    lock.lock(100.0)
    assert lock.tick(100.0 + 3599, busy=False) is False
    assert lock.tick(100.0 + 3600, busy=False) is True


def test_without_a_signed_in_clerk_nothing_locks():
    lock = ScreenLock(idle_seconds=15)
    lock.lock(0.0)
    assert lock.tick(1000.0, busy=False) is False
    assert not lock.locked and not lock.armed


def test_signing_out_forgets_the_pin():
    lock = signed_in()
    lock.clear()
    assert not lock.armed
    lock.start("97531", 0.0)
    lock.lock(1.0)
    assert lock.unlock("2468", 2.0) is Unlock.WRONG
    assert lock.unlock("97531", 3.0) is Unlock.OPENED


@pytest.mark.parametrize(
    ("situation", "screen"),
    [
        ({}, Screen.DAY),
        ({"hub_online": False}, Screen.OFFLINE),
        ({"hub_online": False, "in_call": True}, Screen.CALL),  # media flows without the hub
        ({"signed_in": False}, Screen.SIGN_IN),
        ({"locked": True}, Screen.LOCKED),
        ({"locked": True, "in_call": True}, Screen.LOCKED),
        ({"to_record": True}, Screen.OUTCOME),
        ({"to_record": True, "in_call": True}, Screen.CALL),  # the next call came first
        ({"to_record": True, "locked": True}, Screen.LOCKED),
        ({"hub_online": False, "signed_in": False}, Screen.OFFLINE),
        ({"hub_online": False, "hub_refused": True}, Screen.REFUSED),  # call IT, not "wait"
    ],
)
def test_one_screen_at_a_time(situation, screen):
    base = {
        "hub_online": True,
        "signed_in": True,
        "locked": False,
        "in_call": False,
        "to_record": False,
    }
    assert choose(**{**base, **situation}) is screen


@pytest.mark.parametrize(
    ("rtt", "loss", "quality"),
    [
        (None, None, "unknown"),
        (0.02, 0.0, "good"),
        (0.149, 0.009, "good"),
        (0.15, 0.0, "fair"),  # the citizen's page rates alike (call.js)
        (0.05, 0.01, "fair"),
        (0.3, 0.0, "fair"),
        (0.4, 0.0, "poor"),
        (0.05, 0.1, "poor"),
        (None, 0.0, "good"),
    ],
)
def test_connection_quality_from_round_trip_and_loss(rtt, loss, quality):
    assert rate(rtt, loss) == quality


def remote(rtt, lost, ssrc=1):
    """What aiortc records from a receiver report of the browser: its round trip and how
    many of our packets the browser has lost so far."""
    from datetime import UTC, datetime

    from aiortc.stats import RTCRemoteInboundRtpStreamStats

    return RTCRemoteInboundRtpStreamStats(
        timestamp=datetime.now(UTC), type="remote-inbound-rtp", id="r", ssrc=ssrc, kind="video",
        transportId="t", packetsReceived=0, packetsLost=lost, jitter=0,
        roundTripTime=rtt, fractionLost=0,
    )  # fmt: skip


def outbound(sent, ssrc=1):
    from datetime import UTC, datetime

    from aiortc.stats import RTCOutboundRtpStreamStats

    return RTCOutboundRtpStreamStats(
        timestamp=datetime.now(UTC), type="outbound-rtp", id="o", ssrc=ssrc, kind="video",
        transportId="t", packetsSent=sent, bytesSent=0, trackId="v",
    )  # fmt: skip


def inbound(received, lost):
    from datetime import UTC, datetime

    from aiortc.stats import RTCInboundRtpStreamStats

    return RTCInboundRtpStreamStats(
        timestamp=datetime.now(UTC), type="inbound-rtp", id="i", ssrc=7, kind="video",
        transportId="t", packetsReceived=received, packetsLost=lost, jitter=0,
    )  # fmt: skip


def test_quality_from_aiortc_statistics():
    from appliance.media.quality import WINDOW, QualityWatch

    watch = QualityWatch()
    assert watch.rate([remote(None, 0)]) == "unknown"  # before the first report
    assert watch.rate([remote(0.02, 0), outbound(100)]) == "good"
    # The round trip is the median of the last three reports: one slow report is no verdict.
    assert watch.rate([remote(0.5, 0), outbound(200)]) == "good"
    assert watch.rate([remote(0.5, 0), outbound(300)]) == "poor"
    assert watch.rate([remote(0.02, 0), outbound(400)]) == "poor"
    assert watch.rate([remote(0.02, 0), outbound(500)]) == "good"

    # Loss counts over the window, in both directions: 2 % of what the browser receives
    # (its reports) and of what arrives here are each a weak connection.
    watch = QualityWatch()
    for look in range(WINDOW):
        quality = watch.rate([remote(0.02, 2 * look), outbound(100 * look)])
    assert quality == "fair"
    watch = QualityWatch()
    for look in range(WINDOW):
        quality = watch.rate([remote(0.02, 0), outbound(100 * look), inbound(98 * look, 2 * look)])
    assert quality == "fair"
    # A burst of loss leaves the window after ten seconds.
    watch = QualityWatch()
    watch.rate([remote(0.02, 0), inbound(0, 0)])
    assert watch.rate([remote(0.02, 0), inbound(800, 200)]) == "poor"
    for look in range(2, WINDOW + 1):
        quality = watch.rate([remote(0.02, 0), inbound(800 + 1000 * look, 200)])
    assert quality == "good"

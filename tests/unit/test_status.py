"""An appointment's status and its rules (hub.booking.status)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.booking.rules import BookingError
from hub.booking.status import OCCUPYING, ON_THE_DAY, Status, check_changeable

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
EARLIER = NOW - timedelta(minutes=1)


def test_the_database_keeps_the_same_strings_as_before():
    assert [s.value for s in Status] == ["held", "booked", "cancelled", "released"]
    assert Status("held") is Status.HELD and Status.BOOKED == "booked"


def test_a_hold_takes_the_counters_time_until_it_expires():
    assert Status.HELD.takes_time(LATER, NOW)
    assert not Status.HELD.takes_time(NOW, NOW)  # expires at hold_until itself
    assert Status.HELD.expired(EARLIER, NOW) and not Status.HELD.expired(LATER, NOW)
    assert Status.BOOKED.takes_time(None, NOW)
    assert not Status.CANCELLED.takes_time(None, NOW)
    assert not Status.RELEASED.takes_time(None, NOW)
    assert Status.RELEASED.expired(None, NOW)
    assert {Status.HELD, Status.BOOKED} == OCCUPYING


def test_only_a_booked_appointment_opens_its_call_and_withdrawn_ones_are_gone():
    assert [s for s in Status if s.joinable] == [Status.BOOKED]
    assert {s for s in Status if s.withdrawn} == {Status.CANCELLED, Status.RELEASED}
    assert {Status.BOOKED, Status.CANCELLED} == ON_THE_DAY  # the clerk sees who will not come


@pytest.mark.parametrize(
    ("status", "hold_until", "start", "code"),
    [
        (Status.CANCELLED, None, LATER, "appointment_cancelled"),
        (Status.RELEASED, None, LATER, "hold_expired"),
        (Status.HELD, EARLIER, LATER, "hold_expired"),
        (Status.BOOKED, None, NOW, "appointment_past"),
        (Status.HELD, LATER, EARLIER, "appointment_past"),
    ],
)
def test_what_may_no_longer_be_moved_cancelled_or_confirmed(status, hold_until, start, code):
    with pytest.raises(BookingError) as refused:
        check_changeable(status, hold_until, start, NOW)
    assert refused.value.code == code


def test_a_booking_or_a_live_hold_still_to_come_may_change():
    check_changeable(Status.BOOKED, None, LATER, NOW)
    check_changeable(Status.HELD, LATER, LATER, NOW)

"""The office's search rules (hub.booking.search): which searches are refused, the one state
per appointment, references and how names are compared."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from hub.booking.rules import BookingError
from hub.booking.search import Search, State, fold, parse_reference, reference_of, state_of
from hub.booking.status import Status

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
DAY = date(2026, 3, 2)


@pytest.mark.parametrize(
    ("search", "code"),
    [
        (Search(DAY, DAY - timedelta(days=1)), "invalid_range"),
        (Search(DAY, DAY + timedelta(days=366)), "range_too_long"),
        (Search(DAY, DAY + timedelta(days=31), who="Erika"), "name_needs_criteria"),
        (Search(DAY, DAY + timedelta(days=31), who="e@example.org"), "name_needs_criteria"),
        (Search(DAY, DAY, who="x" * 255), "who_too_long"),
    ],
)
def test_searches_the_office_may_not_make_are_refused(search, code):
    with pytest.raises(BookingError) as refused:
        search.check()
    assert refused.value.code == code


@pytest.mark.parametrize(
    "search",
    [
        Search(DAY, DAY + timedelta(days=365)),  # a year, counting both ends
        Search(DAY, DAY + timedelta(days=30), who="Erika"),  # 31 days
        Search(DAY, DAY + timedelta(days=365), service_id="anmeldung", who="Erika"),
        Search(DAY, DAY + timedelta(days=365), state=State.NO_SHOW),
    ],
)
def test_searches_within_the_rules_pass(search):
    search.check()


def test_the_state_follows_the_status_then_the_calls_outcome():
    later = NOW + timedelta(minutes=5)
    assert state_of(Status.BOOKED, None, None, NOW) is State.BOOKED
    assert state_of(Status.BOOKED, None, "no_show", NOW) is State.NO_SHOW
    assert state_of(Status.BOOKED, None, "follow_up", NOW) is State.FOLLOW_UP
    assert state_of(Status.BOOKED, None, "cancelled", NOW) is State.BOOKED
    assert state_of(Status.CANCELLED, None, "cancelled", NOW) is State.CANCELLED
    assert state_of(Status.HELD, later, None, NOW) is State.HELD
    assert state_of(Status.HELD, NOW, None, NOW) is State.RELEASED  # its time is up
    assert state_of(Status.RELEASED, NOW, None, NOW) is State.RELEASED


def test_references_and_names():
    assert reference_of("3f2a9c01aa" + "0" * 22) == "3F2A9C01"
    assert parse_reference(" 3F2A 9c01 ") == "3f2a9c01"
    assert parse_reference("3f2a9c0") is None and parse_reference("3f2a9c0g") is None
    assert fold("  ÖZTÜRK\u0308  Max ") == fold("öztürk\u0308 max")
    search = Search(DAY, DAY, who="müller ")
    assert search.matches_name("Hans  Müller-Lüdenscheidt") and not search.by_email
    assert Search(DAY, DAY, who="a@b.de").by_email

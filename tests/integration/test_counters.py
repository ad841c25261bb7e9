"""Counters: which take bookings, their own hours and exceptions, taking one out of service."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from hub.booking.rules import BookingPolicy, SlotTaken
from hub.booking.schedule import parse_hours
from hub.operations import counters
from hub.operations.accounts import add_device, revoke_device
from hub.operations.booking import BookingRequest, book, list_slots
from hub.store import Store
from hub.store.models import AppointmentRow, OccupancyRow
from hub.store.seed import seed_defaults
from tests.support.environment import MONDAY_EARLY, berlin

POLICY = BookingPolicy(timedelta(0), timedelta(days=56), timedelta(minutes=15))
MONDAY = date(2026, 3, 2)
SATURDAY = date(2026, 3, 7)


@pytest.fixture
def office(db_url: str) -> Iterator[Store]:
    """The default data as `db upgrade` seeds it: two counters, no appliance yet."""
    store = Store(db_url, catalogue_ttl=0)
    with store.transaction() as session:
        seed_defaults(session)
    yield store
    store.dispose()


def slots(store: Store, day: date) -> list[str]:
    found = list_slots(store, POLICY, MONDAY_EARLY, "meldebescheinigung", day, day)
    return [s.start.astimezone(berlin(2000, 1, 1).tzinfo).strftime("%H:%M") for s in found]


def booked_at(store: Store, start: datetime, n: int = 0) -> AppointmentRow:
    request = BookingRequest("meldebescheinigung", start, f"P {n}", f"p{n}@example.org")
    booked = book(store, POLICY, MONDAY_EARLY, request)
    with store.transaction() as session:
        return session.get(AppointmentRow, booked.appointment.id)


def test_only_counters_with_an_appliance_take_bookings_unless_it_says_otherwise(office):
    assert slots(office, MONDAY) == []  # nobody sits at either counter
    device, _ = add_device(office, 1, "Pi", MONDAY_EARLY)
    assert slots(office, MONDAY)[0] == "08:00"
    assert booked_at(office, berlin(2026, 3, 2, 9, 0)).counter_id == 1
    with pytest.raises(SlotTaken):  # counter 2 has no appliance: the slot is gone
        booked_at(office, berlin(2026, 3, 2, 9, 0), 1)

    revoke_device(office, device.id, MONDAY_EARLY)
    assert slots(office, MONDAY) == []
    info = counters.activate(office, 2, without_appliance=True)
    assert info.takes_bookings and info.appliances == ()
    assert booked_at(office, berlin(2026, 3, 2, 9, 0), 2).counter_id == 2
    listed = {c.id: c for c in counters.list_counters(office)}
    assert not listed[1].takes_bookings and listed[2].takes_bookings


def test_a_counter_keeps_its_own_weekly_hours(office):
    counters.activate(office, 1, without_appliance=True)
    counters.activate(office, 2, without_appliance=True)
    early = booked_at(office, berlin(2026, 3, 2, 8, 0))
    assert slots(office, SATURDAY) == []
    outside = counters.set_hours(
        office, early.counter_id, parse_hours(["mon 10:00-12:00", "sat 09:00-10:00"]), MONDAY_EARLY
    )
    assert [b.id for b in outside] == [early.id]  # kept, but reported
    assert slots(office, SATURDAY) == ["09:00", "09:15", "09:30", "09:45"]
    listed = {c.id: c for c in counters.list_counters(office)}
    assert listed[early.counter_id].own_hours
    assert not listed[3 - early.counter_id].own_hours  # the other keeps the Standard hours

    assert counters.set_hours(office, early.counter_id, None, MONDAY_EARLY) == []
    assert slots(office, SATURDAY) == []
    with pytest.raises(counters.CounterError, match="deactivate"):
        counters.set_hours(office, 1, [], MONDAY_EARLY)


def test_exceptions_close_a_day_or_open_it_at_other_hours(office):
    counters.activate(office, 1, without_appliance=True)
    booking = booked_at(office, berlin(2026, 3, 2, 9, 0))
    outside = counters.set_exception(office, 1, MONDAY, [], MONDAY_EARLY, reason="Fortbildung")
    assert [b.id for b in outside] == [booking.id]
    assert slots(office, MONDAY) == []
    counters.set_exception(office, 1, SATURDAY, [(time(9), time(9, 30))], MONDAY_EARLY)
    assert slots(office, SATURDAY) == ["09:00", "09:15"]
    # A second exception for the same day replaces the first.
    counters.set_exception(office, 1, MONDAY, [(time(11), time(12))], MONDAY_EARLY)
    assert slots(office, MONDAY) == ["11:00", "11:15", "11:30", "11:45"]
    info = next(c for c in counters.list_counters(office) if c.id == 1)
    assert [e.day for e in info.exceptions_from(MONDAY)] == [MONDAY, SATURDAY]

    counters.remove_exception(office, 1, MONDAY)
    assert slots(office, MONDAY)[0] == "08:00"
    with pytest.raises(counters.CounterError, match="no exception on 2026-03-02"):
        counters.remove_exception(office, 1, MONDAY)


def test_deactivating_refuses_while_appointments_are_ahead(office):
    counters.activate(office, 1, without_appliance=True)
    booking = booked_at(office, berlin(2026, 3, 2, 9, 0))
    with pytest.raises(counters.UpcomingAppointments) as refused:
        counters.deactivate(office, 1, MONDAY_EARLY)
    assert [b.id for b in refused.value.bookings] == [booking.id]
    assert "--move" in str(refused.value)
    assert slots(office, MONDAY)  # still in service


def test_deactivating_with_move_hands_every_appointment_to_another_counter(office):
    counters.activate(office, 1, without_appliance=True)
    first = booked_at(office, berlin(2026, 3, 2, 9, 0), 1)
    second = booked_at(office, berlin(2026, 3, 3, 10, 0), 2)
    # Counter 2 has an appliance but is busy at 9:00 on Monday: nowhere to go, nothing changes.
    add_device(office, 2, "Pi", MONDAY_EARLY)
    blocker = booked_at(office, berlin(2026, 3, 2, 9, 0), 3)
    assert blocker.counter_id == 2
    with pytest.raises(counters.UpcomingAppointments, match="nothing was changed") as stuck:
        counters.deactivate(office, 1, MONDAY_EARLY, move=True)
    assert [b.id for b in stuck.value.bookings] == [first.id]
    with office.transaction() as session:
        assert session.get(AppointmentRow, second.id).counter_id == 1

    with office.transaction() as session:  # the citizen at counter 2 cancels
        session.delete(session.get(AppointmentRow, blocker.id))
    done = counters.deactivate(office, 1, MONDAY_EARLY, move=True)
    assert sorted(b.id for b in done.moved) == sorted([first.id, second.id])
    assert {b.counter_id for b in done.moved} == {2}
    with office.transaction() as session:
        assert session.get(AppointmentRow, first.id).counter_id == 2
        held = set(session.scalars(select(OccupancyRow.counter_id).distinct()))
        assert held == {2}
    with pytest.raises(SlotTaken):  # counter 2 holds 9:00 now; counter 1 is out of service
        booked_at(office, berlin(2026, 3, 2, 9, 0), 4)
    assert not next(c for c in counters.list_counters(office) if c.id == 1).active

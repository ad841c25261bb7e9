"""Counters: weekly hours, date exceptions, in and out of service.

The CLI and the admin pages call these; the rules live here. What a counter's hours mean is in
hub.booking.schedule (WeeklySchedule, DayHours); which counters take bookings is decided in
hub.store.catalogue.active_counters.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, select, update
from sqlalchemy.orm import Session

from hub.booking.schedule import (
    DayHours,
    Interval,
    OpeningPeriod,
    Span,
    WeeklySchedule,
    format_hours,
    format_span,
)
from hub.booking.slots import grid_units
from hub.clock import system_clock
from hub.operations.audit import record
from hub.store import Store
from hub.store.catalogue import counter_schedule, service_counters, staffed, taking_time
from hub.store.models import (
    AppointmentRow,
    CallRow,
    CounterExceptionRow,
    CounterHoursRow,
    CounterRow,
    DeviceRow,
    OccupancyRow,
)

# Who made a change when the caller does not say (the CLI says `cli:<user>`, the admin pages
# `web:<username>`; hub.operations.audit).
SYSTEM = "system"


class CounterError(ValueError):
    """A change to a counter that cannot be made; the message says why."""


@dataclass(frozen=True)
class Booking:
    """An upcoming appointment at a counter, as IT needs to see it."""

    id: uuid.UUID
    start: datetime
    end: datetime
    service_id: str
    counter_id: int
    name: str


@dataclass(frozen=True)
class CounterInfo:
    """A counter with everything that decides whether it takes bookings."""

    id: int
    name: str
    schedule_name: str
    active: bool
    without_appliance: bool
    appliances: tuple[str, ...]  # names of the unrevoked devices enrolled for it
    own_hours: bool  # False: it keeps its schedule's weekly hours
    schedule: WeeklySchedule

    @property
    def takes_bookings(self) -> bool:
        """Active, and with an appliance or allowed to do without."""
        return self.active and (self.without_appliance or bool(self.appliances))

    def exceptions_from(self, day: date) -> tuple[DayHours, ...]:
        """The exceptions for `day` and later."""
        return tuple(e for e in self.schedule.exceptions if e.day >= day)


def _counter(session: Session, counter_id: int, lock: bool = False) -> CounterRow:
    query = select(CounterRow).where(CounterRow.id == counter_id)
    row = session.scalar(query.with_for_update(of=CounterRow) if lock else query)
    if row is None:
        raise CounterError(f"no counter with id {counter_id}")
    return row


def find_counter(store: Store, ref: str) -> int:
    """The id of the counter named `ref`, or with that id."""
    with store.transaction() as session:
        found = session.scalar(select(CounterRow.id).where(CounterRow.name == ref))
        if found is None and ref.strip().isdigit():
            found = session.scalar(select(CounterRow.id).where(CounterRow.id == int(ref)))
    if found is None:
        raise CounterError(f"no counter with id or name {ref!r}")
    return found


def list_counters(store: Store) -> list[CounterInfo]:
    """Every counter with its hours, exceptions, appliances and state."""
    with store.transaction() as session:
        devices: dict[int, list[str]] = {}
        for counter_id, name in session.execute(
            select(DeviceRow.counter_id, DeviceRow.name)
            .where(DeviceRow.revoked_at.is_(None))
            .order_by(DeviceRow.id)
        ):
            devices.setdefault(counter_id, []).append(name)
        return [
            CounterInfo(
                row.id,
                row.name,
                row.schedule.name,
                row.active,
                row.without_appliance,
                tuple(devices.get(row.id, ())),
                bool(row.hours),
                counter_schedule(row),
            )
            for row in session.scalars(select(CounterRow).order_by(CounterRow.id))
        ]


def _minutes(value: time | None) -> int:
    return 1440 if value is None else value.hour * 60 + value.minute


def _upcoming(session: Session, counter_id: int, now: datetime) -> list[AppointmentRow]:
    """Appointments at the counter that have not started: booked, or held and not expired."""
    return list(
        session.scalars(
            select(AppointmentRow)
            .where(
                AppointmentRow.counter_id == counter_id,
                AppointmentRow.start_at > now,
                taking_time(now),
            )
            .order_by(AppointmentRow.start_at)
        )
    )


def _booking(row: AppointmentRow) -> Booking:
    return Booking(row.id, row.start_at, row.end_at, row.service_id, row.counter_id, row.name)


def upcoming(store: Store, counter_id: int, now: datetime) -> list[Booking]:
    """The counter's appointments that have not started (booked, or held and not expired):
    what deactivating it would have to move."""
    with store.transaction() as session:
        return [_booking(a) for a in _upcoming(session, counter_id, now)]


def _outside(session: Session, row: CounterRow, now: datetime) -> list[Booking]:
    """Upcoming appointments at the counter that its hours no longer cover."""
    session.flush()
    session.refresh(row)
    schedule = counter_schedule(row)
    return [
        _booking(a)
        for a in _upcoming(session, row.id, now)
        if not schedule.is_open_throughout(Interval(a.start_at, a.end_at))
    ]


def _target(row: CounterRow) -> str:
    return f"counter:{row.name}"


def _hours_shown(row: CounterRow) -> dict[str, Any]:
    """A counter's weekly hours as the audit log keeps them."""
    return {"hours": format_hours(counter_schedule(row).periods), "own": bool(row.hours)}


def _day_shown(exception: DayHours | None) -> dict[str, Any] | None:
    if exception is None:
        return None
    spans = ", ".join(format_span(o, c) for o, c in exception.spans)
    return {
        "day": exception.day.isoformat(),
        "hours": spans or "closed",
        "reason": exception.reason,
    }


def _exception_on(row: CounterRow, day: date) -> DayHours | None:
    return next((e for e in counter_schedule(row).exceptions if e.day == day), None)


def set_hours(
    store: Store,
    counter_id: int,
    periods: Sequence[OpeningPeriod] | None,
    now: datetime,
    *,
    actor: str = SYSTEM,
) -> list[Booking]:
    """Give the counter its own weekly hours (None: back to its schedule's).

    Booked appointments stay where they are; the ones the new hours no longer cover are
    returned, so that whoever made the change can tell those citizens or move them.
    """
    if periods is not None and not periods:
        raise CounterError("a counter needs at least one opening a week; deactivate it instead")
    with store.transaction() as session:
        row = _counter(session, counter_id, lock=True)
        before = _hours_shown(row)
        row.hours.clear()
        session.flush()
        for p in periods or ():
            row.hours.append(
                CounterHoursRow(
                    weekday=p.weekday,
                    opens_minute=_minutes(p.opens),
                    closes_minute=_minutes(p.closes),
                )
            )
        outside = _outside(session, row, now)
        record(session, now, actor, "counter.hours", _target(row), before, _hours_shown(row))
    store.forget_catalogue()
    return outside


def set_exception(
    store: Store,
    counter_id: int,
    day: date,
    spans: Sequence[Span],
    now: datetime,
    reason: str = "",
    *,
    actor: str = SYSTEM,
) -> list[Booking]:
    """The counter's hours on `day` (no spans: closed), replacing any earlier exception for it.

    Returns the upcoming appointments that day that the new hours do not cover (they stay).
    """
    exception = DayHours(day, tuple(spans), reason)  # validates the spans
    with store.transaction() as session:
        row = _counter(session, counter_id, lock=True)
        before = _day_shown(_exception_on(row, day))
        row.exceptions[:] = [e for e in row.exceptions if e.day != day]
        session.flush()
        for opens, closes in exception.spans or ((None, None),):
            row.exceptions.append(
                CounterExceptionRow(
                    day=day,
                    opens_minute=None if opens is None else _minutes(opens),
                    closes_minute=None if opens is None else _minutes(closes),
                    reason=reason,
                )
            )
        outside = _outside(session, row, now)
        after = _day_shown(_exception_on(row, day))
        record(session, now, actor, "counter.exception_set", _target(row), before, after)
    store.forget_catalogue()
    return outside


def remove_exception(
    store: Store,
    counter_id: int,
    day: date,
    *,
    actor: str = SYSTEM,
    now: datetime | None = None,
) -> None:
    """Drop the counter's exception for `day`: its weekly hours apply again."""
    with store.transaction() as session:
        row = _counter(session, counter_id, lock=True)
        before = _day_shown(_exception_on(row, day))
        gone = cast(  # a DELETE gives a CursorResult (with rowcount)
            "CursorResult[Any]",
            session.execute(
                delete(CounterExceptionRow).where(
                    CounterExceptionRow.counter_id == counter_id, CounterExceptionRow.day == day
                )
            ),
        )
        if not gone.rowcount:
            raise CounterError(f"counter {counter_id} has no exception on {day.isoformat()}")
        at = now or system_clock()
        record(session, at, actor, "counter.exception_remove", _target(row), before, None)
    store.forget_catalogue()


def _service_shown(row: CounterRow) -> dict[str, Any]:
    return {"active": row.active, "without_appliance": row.without_appliance}


def activate(
    store: Store,
    counter_id: int,
    without_appliance: bool = False,
    *,
    actor: str = SYSTEM,
    now: datetime | None = None,
) -> CounterInfo:
    """Put the counter in service. Without an enrolled appliance it takes no bookings unless
    `without_appliance` says it may (and with it, the counter keeps that permission)."""
    with store.transaction() as session:
        row = _counter(session, counter_id, lock=True)
        before = _service_shown(row)
        row.active = True
        row.without_appliance = without_appliance
        at = now or system_clock()
        record(session, at, actor, "counter.activate", _target(row), before, _service_shown(row))
    store.forget_catalogue()
    return next(c for c in list_counters(store) if c.id == counter_id)


@dataclass(frozen=True)
class Deactivated:
    """What deactivating did: the appointments moved, each with its new counter."""

    moved: list[Booking]


class UpcomingAppointments(CounterError):
    """The counter still has appointments ahead; they are listed, and nothing was changed."""

    def __init__(self, message: str, bookings: list[Booking]) -> None:
        super().__init__(message)
        self.bookings = bookings


def deactivate(
    store: Store, counter_id: int, now: datetime, move: bool = False, *, actor: str = SYSTEM
) -> Deactivated:
    """Take the counter out of service: it takes no more bookings.

    Appointments it has ahead are never dropped: without `move` the counter stays as it is and
    UpcomingAppointments lists them; with `move` each goes to another counter that takes
    bookings, is open throughout its time and free then, or, if any one has nowhere to go,
    nothing is changed and UpcomingAppointments lists those.
    """
    with store.transaction() as session:
        row = _counter(session, counter_id, lock=True)
        upcoming = _upcoming(session, counter_id, now)
        if upcoming and not move:
            raise UpcomingAppointments(
                f"counter {row.name!r} has {len(upcoming)} appointment(s) ahead; move them"
                " to other counters with --move, or cancel them first",
                [_booking(a) for a in upcoming],
            )
        others = [
            (c.id, counter_schedule(c))
            for c in session.scalars(
                select(CounterRow)
                .where(
                    CounterRow.id != counter_id,
                    CounterRow.active,
                    or_(CounterRow.without_appliance, staffed()),
                )
                .order_by(CounterRow.id)
            )
        ]
        moved: list[Booking] = []
        stuck: list[Booking] = []
        limited = service_counters(session)  # a service offered at some counters only
        for appointment in upcoming:
            only = limited.get(appointment.service_id)
            fitting = others if only is None else [o for o in others if o[0] in only]
            target = _move(session, appointment, fitting)
            if target is None:
                stuck.append(_booking(appointment))
            else:
                moved.append(_booking(appointment))  # its counter_id is the new one now
        if stuck:  # leaving the transaction by an exception undoes the moves
            raise UpcomingAppointments(
                f"{len(stuck)} appointment(s) at counter {row.name!r} fit at no other counter"
                " (none open and free then); nothing was changed",
                stuck,
            )
        before = _service_shown(row)
        row.active = False
        after: dict[str, Any] = _service_shown(row)
        if moved:  # which appointment went where (ids only: no citizen's data in the log)
            after["moved"] = [{"appointment": str(b.id), "to": b.counter_id} for b in moved]
        record(session, now, actor, "counter.deactivate", _target(row), before, after)
    store.forget_catalogue()
    if moved:
        store.day_changed({counter_id} | {b.counter_id for b in moved})
    return Deactivated(moved)


def _move(
    session: Session, appointment: AppointmentRow, others: list[tuple[int, WeeklySchedule]]
) -> int | None:
    """Move one appointment to the first other counter open throughout and free; its id."""
    span = Interval(appointment.start_at, appointment.end_at)
    units = grid_units(span)
    for counter_id, schedule in others:
        if not schedule.is_open_throughout(span):
            continue
        taken = session.scalar(
            select(OccupancyRow.minute)
            .where(OccupancyRow.counter_id == counter_id, OccupancyRow.minute.in_(units))
            .limit(1)
        )
        if taken is not None:
            continue
        session.execute(delete(OccupancyRow).where(OccupancyRow.appointment_id == appointment.id))
        session.add_all(
            OccupancyRow(counter_id=counter_id, minute=m, appointment_id=appointment.id)
            for m in units
        )
        appointment.counter_id = counter_id
        session.execute(
            update(CallRow)
            .where(CallRow.appointment_id == appointment.id, CallRow.state != "ended")
            .values(counter_id=counter_id)
        )
        session.flush()
        return counter_id
    return None

"""The catalogue as IT changes it: services, counters, closures, and the default data.

The CLI calls these, and so will the admin pages: the rules live here. Each function is one
transaction and refuses with a CatalogueError that says why. A counter's hours, exceptions and
service are in hub.operations.counters.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.booking.status import Status
from hub.booking.timezone import end_of_local_day, local_date, start_of_local_day
from hub.clock import system_clock
from hub.notify.closure_mail import enqueue_closure_mail
from hub.operations.audit import record
from hub.store import Store
from hub.store.catalogue import taking_time
from hub.store.models import (
    AppointmentRow,
    ClosureRow,
    CounterRow,
    OccupancyRow,
    ScheduleRow,
    ServiceRow,
)
from hub.store.seed import STANDARD_SCHEDULE, add_demo_counter, seed_defaults

MAX_FEE_CENTS = 10_000_000
MAX_CLOSURE_DAYS = 366  # a closure longer than a year is a typing error
MAX_REASON = 200  # the column's length
# Who made a change when the caller does not say (the CLI says `cli:<user>`, the admin pages
# `web:<username>`; hub.operations.audit).
SYSTEM = "system"
# An appointment a closure cancelled keeps this as the office's reason (with the closure's own,
# for staff); its citizen is told by the closure mail (hub.notify.closure_mail).
CLOSED = "Schließung"


class CatalogueError(ValueError):
    """A change to the catalogue that cannot be made; the message says why, `field` names the
    value at fault (None when it is the state of the catalogue, such as a name taken)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ServiceEntry:
    """A service as IT sees it in a listing."""

    id: str
    name_de: str
    duration_minutes: int
    fee_cents: int
    active: bool


def list_services(store: Store) -> list[ServiceEntry]:
    """Every service, offered or not, in the order citizens see them."""
    with store.transaction() as session:
        return [
            ServiceEntry(row.id, row.name_de, row.duration_minutes, row.fee_cents, row.active)
            for row in session.scalars(select(ServiceRow).order_by(ServiceRow.position))
        ]


def _schedule(session: Session, name: str) -> ScheduleRow:
    schedule = session.scalar(select(ScheduleRow).where(ScheduleRow.name == name))
    if schedule is None:
        raise CatalogueError(f"no schedule named {name!r}")
    return schedule


def list_schedules(store: Store) -> list[str]:
    """The names of the schedules counters keep (closures belong to one)."""
    with store.transaction() as session:
        return list(session.scalars(select(ScheduleRow.name).order_by(ScheduleRow.id)))


def add_counter(
    store: Store,
    name: str,
    schedule: str = STANDARD_SCHEDULE,
    *,
    actor: str = SYSTEM,
    now: datetime | None = None,
) -> int:
    """Add a counter keeping the named schedule; returns its id. It takes bookings once an
    appliance is enrolled for it (hub.operations.accounts.add_device)."""
    if not name.strip():
        raise CatalogueError("a counter needs a name", "name")
    if len(name) > 100:
        raise CatalogueError("a counter's name has at most 100 characters", "name")
    try:
        with store.transaction() as session:
            row = CounterRow(name=name, schedule_id=_schedule(session, schedule).id)
            session.add(row)
            session.flush()
            counter_id = row.id
            after = {"name": name, "schedule": schedule, "active": True}
            record(
                session, now or system_clock(), actor, "counter.add", f"counter:{name}", None, after
            )
    except IntegrityError:  # the name is unique; a concurrent add may have taken it
        raise CatalogueError(f"a counter named {name!r} exists already") from None
    store.forget_catalogue()
    return counter_id


@dataclass(frozen=True)
class ClosureEntry:
    """A closure as the admin pages list it."""

    id: int
    schedule: str
    first_day: date
    last_day: date
    reason: str


@dataclass(frozen=True)
class ClosureHit:
    """An appointment a closure falls on, with no more of the citizen than the office needs to
    see (time, service, counter)."""

    id: uuid.UUID
    start: datetime
    end: datetime
    service_id: str
    counter_id: int
    counter_name: str


@dataclass(frozen=True)
class ClosureAdded:
    """What adding a closure did: its id, and the appointments it falls on (cancelled, each
    citizen mailed, when `cancel` was asked for; otherwise they stand)."""

    id: int
    hits: list[ClosureHit]
    cancelled: bool


class ClosureHitsChanged(CatalogueError):
    """The appointments the closure falls on are no longer those the caller confirmed (booked
    or cancelled meanwhile); nothing was changed, `hits` are the ones now."""

    def __init__(self, hits: list[ClosureHit]) -> None:
        super().__init__("the appointments on these days changed meanwhile; check them again")
        self.hits = hits


def _check_closure(first_day: date, last_day: date, reason: str) -> None:
    if last_day < first_day:
        raise CatalogueError("a closure cannot end before it begins", "last_day")
    if (last_day - first_day).days >= MAX_CLOSURE_DAYS:
        raise CatalogueError(f"a closure lasts at most {MAX_CLOSURE_DAYS} days", "last_day")
    if len(reason) > MAX_REASON:
        raise CatalogueError(f"the reason has at most {MAX_REASON} characters", "reason")


def _hits(
    session: Session, schedule: ScheduleRow, first_day: date, last_day: date, now: datetime
) -> list[tuple[AppointmentRow, str]]:
    """The appointments ahead (booked, or held and not expired) on the closed days at the
    schedule's counters, with their counter's name. A counter open that day by an exception of
    its own stays open (the exception is the last word for its date), so its are not hit."""
    counters = {
        c.id: c
        for c in session.scalars(select(CounterRow).where(CounterRow.schedule_id == schedule.id))
    }
    open_by_exception = {
        (c.id, e.day) for c in counters.values() for e in c.exceptions if e.opens_minute is not None
    }
    rows = session.scalars(
        select(AppointmentRow)
        .where(
            AppointmentRow.counter_id.in_(counters),
            AppointmentRow.start_at >= start_of_local_day(first_day),
            AppointmentRow.start_at < end_of_local_day(last_day),
            AppointmentRow.start_at > now,
            taking_time(now),
        )
        .order_by(AppointmentRow.start_at, AppointmentRow.counter_id)
    )
    return [
        (row, counters[row.counter_id].name)
        for row in rows
        if (row.counter_id, local_date(row.start_at)) not in open_by_exception
    ]


def _hit(row: AppointmentRow, counter_name: str) -> ClosureHit:
    return ClosureHit(
        row.id, row.start_at, row.end_at, row.service_id, row.counter_id, counter_name
    )


def closure_hits(
    store: Store,
    first_day: date,
    last_day: date | None,
    now: datetime,
    schedule: str = STANDARD_SCHEDULE,
) -> list[ClosureHit]:
    """The appointments ahead that a closure of these days would fall on (nothing changes)."""
    last_day = last_day or first_day
    _check_closure(first_day, last_day, "")
    with store.transaction() as session:
        found = _hits(session, _schedule(session, schedule), first_day, last_day, now)
        return [_hit(row, name) for row, name in found]


def add_closure(
    store: Store,
    first_day: date,
    last_day: date | None = None,
    reason: str = "",
    schedule: str = STANDARD_SCHEDULE,
    *,
    actor: str = SYSTEM,
    now: datetime | None = None,
    cancel: bool = False,
    expected: Collection[uuid.UUID] | None = None,
) -> ClosureAdded:
    """Close the schedule's counters from `first_day` to `last_day` (inclusive; one day when
    None): no more slots on those days.

    The appointments ahead on those days (closure_hits) stay as they are, unless `cancel`:
    then each is cancelled (its time freed) and its citizen gets one mail saying the office is
    closed, with a link to book the same service again. With `expected` (the appointments the
    caller was shown), nothing is changed and ClosureHitsChanged raised when the closure falls
    on others now. One transaction with its audit entry.
    """
    last_day = last_day or first_day
    _check_closure(first_day, last_day, reason)
    at = now or system_clock()
    changed: set[int] = set()
    with store.transaction() as session:
        schedule_row = _schedule(session, schedule)
        found = _hits(session, schedule_row, first_day, last_day, at)
        hits = [_hit(row, name) for row, name in found]
        if expected is not None and {h.id for h in hits} != set(expected):
            raise ClosureHitsChanged(hits)
        closure = ClosureRow(
            schedule_id=schedule_row.id, first_day=first_day, last_day=last_day, reason=reason
        )
        session.add(closure)
        if cancel:
            for row, _ in found:
                session.execute(delete(OccupancyRow).where(OccupancyRow.appointment_id == row.id))
                row.status, row.cancelled_at = Status.CANCELLED, at
                row.cancel_reason = f"{CLOSED}: {reason}" if reason else CLOSED
                row.updated_at, row.revision = at, row.revision + 1
                changed.add(row.counter_id)
                session.flush()
                enqueue_closure_mail(session.connection(), row.id, at, row.revision)
        session.flush()
        after = {
            "first_day": first_day.isoformat(),
            "last_day": last_day.isoformat(),
            "reason": reason,
            ("cancelled" if cancel else "appointments_kept"): [str(h.id) for h in hits],
        }
        record(session, at, actor, "closure.add", f"schedule:{schedule}", None, after)
        closure_id = closure.id
    store.forget_catalogue()
    if changed:
        store.day_changed(changed)
    return ClosureAdded(closure_id, hits, cancel)


def list_closures(
    store: Store, from_day: date | None = None, schedule: str | None = None
) -> list[ClosureEntry]:
    """Closures (of every schedule, or the one named) ending on `from_day` or later (all
    when None), by their first day."""
    query = select(ClosureRow, ScheduleRow.name).join(ScheduleRow)
    if from_day is not None:
        query = query.where(ClosureRow.last_day >= from_day)
    if schedule is not None:
        query = query.where(ScheduleRow.name == schedule)
    with store.transaction() as session:
        return [
            ClosureEntry(row.id, name, row.first_day, row.last_day, row.reason)
            for row, name in session.execute(query.order_by(ClosureRow.first_day, ClosureRow.id))
        ]


def remove_closure(
    store: Store, closure_id: int, *, actor: str = SYSTEM, now: datetime | None = None
) -> ClosureEntry:
    """Open the closed days again (their slots come back). Appointments the closure cancelled
    stay cancelled: their citizens were told and may have booked anew."""
    with store.transaction() as session:
        row = session.get(ClosureRow, closure_id, with_for_update=True)
        if row is None:
            raise CatalogueError(f"no closure with id {closure_id}")
        schedule = session.get_one(ScheduleRow, row.schedule_id).name
        entry = ClosureEntry(row.id, schedule, row.first_day, row.last_day, row.reason)
        session.delete(row)
        before = {
            "first_day": row.first_day.isoformat(),
            "last_day": row.last_day.isoformat(),
            "reason": row.reason,
        }
        at = now or system_clock()
        record(session, at, actor, "closure.remove", f"schedule:{schedule}", before, None)
    store.forget_catalogue()
    return entry


def seed(store: Store, *, demo: bool = False) -> bool:
    """Fill an empty database with the default services, hours and counters (True if it did);
    with `demo`, also the demo counter open around the clock (once)."""
    with store.transaction() as session:
        seeded = seed_defaults(session)
        if demo:
            add_demo_counter(session)
    store.forget_catalogue()
    return seeded

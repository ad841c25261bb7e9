"""A clerk's own day in the admin area ("Mein Tag", docs/admin-guide.md): the appointments at
the counters where the clerk works, and the calls the clerk finished that day.

Where a clerk works is where they sign in: the counters whose appliances they signed in at
within WORKED_WITHIN (clerk_sessions → devices → the counter each appliance serves now). A clerk
who has not signed in at any appliance in that time (new, or back from leave) sees every active
counter, as they may be sent to any. Calls the clerk took at another counter count too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from hub.booking.timezone import end_of_local_day, start_of_local_day
from hub.operations.appointments import Found, at_counters
from hub.store import Store
from hub.store.engine import retrying
from hub.store.models import CallRow, ClerkSessionRow, CounterRow, DeviceRow

WORKED_WITHIN = timedelta(days=30)
DAYS_AHEAD = 13  # the page shows today and the next two weeks


@dataclass(frozen=True)
class Counter:
    """A counter as the page names it."""

    id: int
    name: str


@dataclass(frozen=True)
class CallsDone:
    """The clerk's calls that ended on the day: how many, and their length from being let in
    to the end (as the statistics measure a call)."""

    count: int
    seconds: int


@dataclass(frozen=True)
class ClerkDay:
    """What "Mein Tag" shows for one local day."""

    day: date
    counters: list[Counter]
    signed_in_there: bool  # the counters of the clerk's own sign-ins (else: every active one)
    appointments: list[Found]
    calls: CallsDone


def counters_of(store: Store, clerk_id: int, now: datetime) -> tuple[list[Counter], bool]:
    """The counters where the clerk signed in at an appliance within WORKED_WITHIN and True;
    without any, every active counter and False."""
    signed = (
        select(CounterRow.id, CounterRow.name)
        .join(DeviceRow, DeviceRow.counter_id == CounterRow.id)
        .join(ClerkSessionRow, ClerkSessionRow.device_id == DeviceRow.id)
        .where(
            ClerkSessionRow.user_id == clerk_id,
            ClerkSessionRow.created_at > now - WORKED_WITHIN,
        )
        .distinct()
        .order_by(CounterRow.id)
    )
    active = (
        select(CounterRow.id, CounterRow.name)
        .where(CounterRow.active.is_(True))
        .order_by(CounterRow.id)
    )

    def read() -> tuple[list[Counter], bool]:
        with store.transaction() as session:
            rows = session.execute(signed).all()
            if rows:
                return [Counter(r.id, r.name) for r in rows], True
            return [Counter(r.id, r.name) for r in session.execute(active).all()], False

    return retrying(read)


def calls_done(store: Store, clerk_id: int, day: date) -> CallsDone:
    """The calls the clerk let a citizen into that ended on local `day`."""
    query = select(CallRow.admitted_at, CallRow.ended_at).where(
        CallRow.clerk_id == clerk_id,
        CallRow.state == "ended",
        CallRow.admitted_at.is_not(None),
        CallRow.ended_at >= start_of_local_day(day),
        CallRow.ended_at < end_of_local_day(day),
    )

    def read() -> CallsDone:
        with store.transaction() as session:
            rows = session.execute(query).all()
        seconds = sum(max(0, int((r.ended_at - r.admitted_at).total_seconds())) for r in rows)
        return CallsDone(len(rows), seconds)

    return retrying(read)


def clerk_day(store: Store, clerk_id: int, day: date, now: datetime) -> ClerkDay:
    """The clerk's day: where, which appointments (with their state at `now`), which calls."""
    counters, signed_in_there = counters_of(store, clerk_id, now)
    appointments = at_counters(store, [c.id for c in counters], clerk_id, day, now)
    return ClerkDay(day, counters, signed_in_there, appointments, calls_done(store, clerk_id, day))

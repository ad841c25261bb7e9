"""Public holidays as the office sets them: whose state's holidays a schedule keeps
(Baden-Württemberg by default, or none) and single holidays it works on all the same.

Closing a day the office is open on takes a closure (hub.operations.catalogue.add_closure),
which lists the appointments it hits and tells their citizens; so a change here that would
close a day with appointments ahead is refused, naming the days. Each function is one
transaction with its audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.booking.schedule import STATES, public_holidays
from hub.booking.timezone import end_of_local_day, local_date, start_of_local_day
from hub.operations.audit import record
from hub.operations.catalogue import SYSTEM, CatalogueError
from hub.store import Store
from hub.store.catalogue import taking_time
from hub.store.models import AppointmentRow, CounterRow, HolidayOpeningRow, ScheduleRow


@dataclass(frozen=True)
class Holiday:
    """A public holiday of the schedule's state: its name, and whether the office keeps it
    (closed) or works."""

    day: date
    name: str
    observed: bool


@dataclass(frozen=True)
class HolidayCalendar:
    """A schedule's holidays in some years; `state` None: it keeps none."""

    schedule: str
    state: str | None
    holidays: list[Holiday]


class HolidaysBooked(CatalogueError):
    """The change would close days on which appointments are booked; `days` maps each to how
    many. Nothing was changed."""

    def __init__(self, days: dict[date, int]) -> None:
        listed = ", ".join(d.isoformat() for d in sorted(days))
        super().__init__(f"appointments are booked on {listed}; close such days with a closure")
        self.days = days


def _schedule(session: Session, name: str, lock: bool = False) -> ScheduleRow:
    query = select(ScheduleRow).where(ScheduleRow.name == name)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise CatalogueError(f"no schedule named {name!r}", "schedule")
    return row


def calendar(store: Store, schedule: str, years: range, language: str = "de") -> HolidayCalendar:
    """The schedule's state and that state's holidays in `years`, each kept or worked."""
    with store.transaction() as session:
        row = _schedule(session, schedule)
        state, kept_open = row.holiday_subdivision, {h.day for h in row.holiday_openings}
    days = (
        []
        if state is None
        else [
            Holiday(day, name, day not in kept_open)
            for year in years
            for day, name in public_holidays(state, year, language)
        ]
    )
    return HolidayCalendar(schedule, state, days)


def _booked(
    session: Session, schedule: ScheduleRow, days: set[date], now: datetime
) -> dict[date, int]:
    """How many appointments ahead fall on each of `days` at the schedule's counters."""
    ahead = sorted(d for d in days if end_of_local_day(d) > now)
    if not ahead:
        return {}
    rows = session.execute(
        select(AppointmentRow.start_at, func.count())
        .join(CounterRow, CounterRow.id == AppointmentRow.counter_id)
        .where(
            CounterRow.schedule_id == schedule.id,
            AppointmentRow.start_at >= start_of_local_day(ahead[0]),
            AppointmentRow.start_at < end_of_local_day(ahead[-1]),
            AppointmentRow.start_at > now,
            taking_time(now),
        )
        .group_by(AppointmentRow.start_at)
    )
    found: dict[date, int] = {}
    for start, count in rows:
        day = local_date(start)
        if day in days:
            found[day] = found.get(day, 0) + count
    return found


def _closed_by(state: str | None, kept_open: set[date], years: set[int]) -> set[date]:
    if state is None:
        return set()
    return {d for y in years for d, _ in public_holidays(state, y) if d not in kept_open}


def set_state(
    store: Store, schedule: str, state: str | None, *, actor: str = SYSTEM, now: datetime
) -> None:
    """Keep the public holidays of German state `state` (e.g. "BW"), or none. Holidays of the
    new state on which appointments are booked ahead refuse the change (HolidaysBooked)."""
    if state is not None and state not in STATES:
        raise CatalogueError(f"no German state {state!r}", "state")
    with store.transaction() as session:
        row = _schedule(session, schedule, lock=True)
        if row.holiday_subdivision == state:
            return
        kept_open = {h.day for h in row.holiday_openings}
        years = {local_date(now).year, local_date(now).year + 1, local_date(now).year + 2}
        newly = _closed_by(state, kept_open, years) - _closed_by(
            row.holiday_subdivision, kept_open, years
        )
        booked = _booked(session, row, newly, now)
        if booked:
            raise HolidaysBooked(booked)
        before = {"state": row.holiday_subdivision}
        row.holiday_subdivision = state
        record(
            session, now, actor, "holidays.state", f"schedule:{schedule}", before, {"state": state}
        )
    store.forget_catalogue()


def set_observed(
    store: Store, schedule: str, day: date, observed: bool, *, actor: str = SYSTEM, now: datetime
) -> None:
    """Keep the public holiday on `day` (closed) or work on it (the weekly hours apply).
    Keeping it again is refused while appointments are booked on it (HolidaysBooked)."""
    with store.transaction() as session:
        row = _schedule(session, schedule, lock=True)
        if row.holiday_subdivision is None or day not in dict(
            public_holidays(row.holiday_subdivision, day.year)
        ):
            raise CatalogueError(f"{day.isoformat()} is no public holiday of the schedule", "day")
        opening = next((h for h in row.holiday_openings if h.day == day), None)
        if (opening is None) == observed:
            return
        if observed:
            booked = _booked(session, row, {day}, now)
            if booked:
                raise HolidaysBooked(booked)
            row.holiday_openings.remove(opening)  # type: ignore[arg-type]  # not None here
        else:
            row.holiday_openings.append(HolidayOpeningRow(day=day))
        record(
            session,
            now,
            actor,
            "holidays.observed",
            f"schedule:{schedule}",
            {"day": day.isoformat(), "observed": not observed},
            {"day": day.isoformat(), "observed": observed},
        )
    store.forget_catalogue()

"""Reading the catalogue, counters and bookings into domain objects."""

from __future__ import annotations

import threading
import time as clock
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import DateTime, and_, exists, or_, select, type_coerce
from sqlalchemy.orm import Session

from hub.booking.catalogue import Service
from hub.booking.rules import MAX_DURATION_MINUTES
from hub.booking.schedule import (
    Closure,
    DayHours,
    Interval,
    OpeningPeriod,
    Span,
    WeeklySchedule,
)
from hub.booking.slots import BusyTimes, Counter
from hub.booking.status import Status
from hub.store.models import (
    AppointmentRow,
    CounterExceptionRow,
    CounterHoursRow,
    CounterRow,
    DeviceRow,
    OpeningPeriodRow,
    ScheduleRow,
    ServiceCounterRow,
    ServiceRow,
)

# No appointment is longer than this; it bounds the index range scan in busy_times().
MAX_DURATION = timedelta(minutes=MAX_DURATION_MINUTES)


def to_service(row: ServiceRow) -> Service:
    """The domain view of a service row."""
    return Service(
        id=row.id,
        name_de=row.name_de,
        name_en=row.name_en,
        description_de=row.description_de,
        description_en=row.description_en,
        duration_minutes=row.duration_minutes,
        fee_cents=row.fee_cents,
        documents_de=tuple(row.documents_de or ()),
        documents_en=tuple(row.documents_en or ()),
        position=row.position,
    )


def _minute_to_time(minute: int) -> time | None:
    return None if minute >= 1440 else time(minute // 60, minute % 60)


def _periods(rows: list[OpeningPeriodRow] | list[CounterHoursRow]) -> tuple[OpeningPeriod, ...]:
    return tuple(
        OpeningPeriod(
            p.weekday,
            time(p.opens_minute // 60, p.opens_minute % 60),
            _minute_to_time(p.closes_minute),
        )
        for p in rows
    )


def to_schedule(row: ScheduleRow) -> WeeklySchedule:
    """The domain view of a schedule row with its periods and closures."""
    closures = tuple(Closure(c.first_day, c.last_day, c.reason) for c in row.closures)
    kept_open = frozenset(h.day for h in row.holiday_openings)
    return WeeklySchedule(
        _periods(row.periods), closures, row.holiday_subdivision, holidays_open=kept_open
    )


def to_exceptions(rows: list[CounterExceptionRow]) -> tuple[DayHours, ...]:
    """A counter's exception rows (one per span, or one without minutes: closed) per date."""
    days: dict[date, tuple[list[Span], str]] = {}
    for r in rows:
        spans, _ = days.setdefault(r.day, ([], r.reason))
        if r.opens_minute is not None and r.closes_minute is not None:
            spans.append(
                (time(r.opens_minute // 60, r.opens_minute % 60), _minute_to_time(r.closes_minute))
            )
    return tuple(
        DayHours(day, tuple(sorted(spans)), reason) for day, (spans, reason) in sorted(days.items())
    )


def counter_schedule(row: CounterRow) -> WeeklySchedule:
    """When a counter is open: its own weekly hours (or its schedule's), its schedule's closures
    and holidays, and its exceptions."""
    base = to_schedule(row.schedule)
    periods = _periods(row.hours) if row.hours else base.periods
    return WeeklySchedule(
        periods,
        base.closures,
        base.holiday_subdivision,
        to_exceptions(row.exceptions),
        base.holidays_open,
    )


def staffed():  # noqa: ANN201 - an SQL expression
    """True for counters with an unrevoked appliance enrolled."""
    return exists().where(DeviceRow.counter_id == CounterRow.id, DeviceRow.revoked_at.is_(None))


def taking_time(now: datetime):  # noqa: ANN201 - an SQL expression
    """True for appointments that keep their counter's time at `now` (`Status.takes_time`):
    booked, or held and the hold not yet expired."""
    return or_(
        AppointmentRow.status == Status.BOOKED,
        and_(AppointmentRow.status == Status.HELD, AppointmentRow.hold_until > now),
    )


@dataclass(frozen=True)
class Catalogue:
    """What can be booked where: active services (in display order), active counters, and the
    counters a service is limited to (a service not listed here is offered at every counter)."""

    services: dict[str, Service]
    counters: list[Counter]
    limited_to: dict[str, frozenset[int]] = field(default_factory=dict)

    def counters_for(self, service_id: str) -> list[Counter]:
        """The active counters that offer the service."""
        only = self.limited_to.get(service_id)
        return self.counters if only is None else [c for c in self.counters if c.id in only]


def service_counters(session: Session) -> dict[str, frozenset[int]]:
    """The counters each limited service is offered at (services at every counter are absent)."""
    limited: dict[str, set[int]] = {}
    for service_id, counter_id in session.execute(
        select(ServiceCounterRow.service_id, ServiceCounterRow.counter_id)
    ):
        limited.setdefault(service_id, set()).add(counter_id)
    return {service_id: frozenset(ids) for service_id, ids in limited.items()}


def load_catalogue(session: Session) -> Catalogue:
    """Read the catalogue in one go."""
    return Catalogue(
        {s.id: s for s in active_services(session)},
        active_counters(session),
        service_counters(session),
    )


class CatalogueCache:
    """The catalogue, re-read at most every `ttl` seconds.

    Services, hours and counters change a few times a year but are needed by every request;
    re-reading them each time costs more than the booking itself. An admin's change shows
    after at most `ttl` seconds in every hub process.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._value: Catalogue | None = None
        self._loaded_at = 0.0
        self._loading = threading.Lock()  # cooperative under gevent's monkey patching

    def get(self, session_factory: Callable[[], AbstractContextManager[Session]]) -> Catalogue:
        """The cached catalogue, or a fresh one when it is older than the TTL.

        One caller refreshes; the others keep the previous value meanwhile, or, when there is
        none yet, wait for that one caller instead of all reading the database at once.
        """
        if self._value is not None and clock.monotonic() - self._loaded_at < self.ttl:
            return self._value
        if self._value is not None and self._loading.locked():
            return self._value
        with self._loading:
            if self._value is None or clock.monotonic() - self._loaded_at >= self.ttl:
                with session_factory() as session:
                    self._value = load_catalogue(session)
                self._loaded_at = clock.monotonic()
            return self._value

    def invalidate(self) -> None:
        """Forget the cached catalogue (after a change made in this process)."""
        self._value = None


def active_services(session: Session) -> list[Service]:
    """Bookable services in display order."""
    rows = session.scalars(
        select(ServiceRow).where(ServiceRow.active).order_by(ServiceRow.position, ServiceRow.id)
    )
    return [to_service(r) for r in rows]


def active_counters(session: Session) -> list[Counter]:
    """Counters taking bookings, each with its schedule: active, and with an appliance enrolled
    or allowed to take bookings without one."""
    rows = session.scalars(
        select(CounterRow)
        .where(CounterRow.active, or_(CounterRow.without_appliance, staffed()))
        .order_by(CounterRow.id)
    )
    return [Counter(row.id, counter_schedule(row)) for row in rows]


def busy_times(session: Session, window: Interval, now: datetime) -> BusyTimes:
    """Booked spans overlapping `window`, per counter.

    This runs on every slot listing over thousands of rows, so it skips the ORM layer and the
    per-value UTC conversion (PostgreSQL sessions already deliver UTC; SQLite's are naive UTC).
    """
    raw = DateTime(timezone=True)
    rows = (
        session.connection()
        .execute(
            select(
                AppointmentRow.counter_id,
                type_coerce(AppointmentRow.start_at, raw),
                type_coerce(AppointmentRow.end_at, raw),
            )
            .where(
                taking_time(now),
                AppointmentRow.start_at < window.end,
                AppointmentRow.start_at > window.start - MAX_DURATION,
                AppointmentRow.end_at > window.start,
            )
            .order_by(AppointmentRow.counter_id, AppointmentRow.start_at)
        )
        .all()
    )
    if session.get_bind().dialect.name == "sqlite":
        return BusyTimes.from_sorted_rows(
            [(c, s.replace(tzinfo=UTC), e.replace(tzinfo=UTC)) for c, s, e in rows]
        )
    return BusyTimes.from_sorted_rows(rows)

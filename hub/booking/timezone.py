"""The office's time zone and conversions between local wall time and UTC instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
# The dates the hub computes with: far wider than any booking horizon, yet far from datetime's
# limits (years 1 and 9999), where turning a local day into UTC or adding a day overflows.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)


def in_calendar(day: date) -> bool:
    """Whether `day` lies within FIRST_DAY..LAST_DAY."""
    return FIRST_DAY <= day <= LAST_DAY


def local_instant(day: date, wall: time) -> datetime:
    """The UTC instant at which the wall clock in Berlin shows `wall` on `day`."""
    return datetime.combine(day, wall, tzinfo=BERLIN).astimezone(UTC)


def start_of_local_day(day: date) -> datetime:
    """Midnight in Berlin at the start of `day`, as a UTC instant."""
    return local_instant(day, time(0, 0))


def end_of_local_day(day: date) -> datetime:
    """Midnight in Berlin at the end of `day` (23, 24 or 25 hours after its start)."""
    return start_of_local_day(day + timedelta(days=1))


def local_date(instant: datetime) -> date:
    """The calendar date in Berlin at `instant`."""
    return instant.astimezone(BERLIN).date()


def to_local_iso(instant: datetime) -> str:
    """ISO 8601 with the Berlin offset, e.g. 2026-03-02T08:00:00+01:00."""
    return instant.astimezone(BERLIN).isoformat()


def require_aware(instant: datetime, what: str = "time") -> datetime:
    """Reject naive datetimes: every instant in the domain carries its offset."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what} must carry a UTC offset")
    return instant.astimezone(UTC)


def local_parts(instant: datetime) -> tuple[int, int, int]:
    """Berlin's month as YYYYMM, weekday (0 = Monday … 6 = Sunday) and hour at `instant`."""
    local = require_aware(instant).astimezone(BERLIN)
    return local.year * 100 + local.month, local.weekday(), local.hour

"""Opening hours: a weekly pattern in Berlin wall time, closures and public holidays."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

from hub.booking.timezone import end_of_local_day, local_instant

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, order=True)
class Interval:
    """A half-open span [start, end) between two aware instants."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("an interval must end after it starts")

    def overlaps(self, other: Interval) -> bool:
        """True when the two spans share any instant."""
        return self.start < other.end and other.start < self.end

    def contains(self, other: Interval) -> bool:
        """True when `other` lies entirely inside this span."""
        return self.start <= other.start and other.end <= self.end


@dataclass(frozen=True)
class OpeningPeriod:
    """Open on `weekday` (0 = Monday) from `opens` to `closes`; closes=None means midnight."""

    weekday: int
    opens: time
    closes: time | None

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
        if self.closes is not None and self.closes <= self.opens:
            raise ValueError("a period must close after it opens")

    def on(self, day: date) -> Interval:
        """This period on a concrete day, as UTC instants (DST-correct)."""
        end = end_of_local_day(day) if self.closes is None else local_instant(day, self.closes)
        return Interval(local_instant(day, self.opens), end)


@dataclass(frozen=True)
class Closure:
    """The office is closed from `first_day` to `last_day` inclusive."""

    first_day: date
    last_day: date
    reason: str = ""

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise ValueError("a closure must not end before it starts")

    def covers(self, day: date) -> bool:
        """True when `day` falls within the closure."""
        return self.first_day <= day <= self.last_day


@dataclass(frozen=True)
class WeeklySchedule:
    """When a counter is open: a weekly pattern less closures and (optionally) public holidays."""

    periods: tuple[OpeningPeriod, ...]
    closures: tuple[Closure, ...] = field(default_factory=tuple)
    holiday_subdivision: str | None = "BW"

    def is_closed_all_day(self, day: date) -> bool:
        """True on a closure day or a public holiday that the schedule observes."""
        if any(c.covers(day) for c in self.closures):
            return True
        return self.holiday_subdivision is not None and is_public_holiday(
            day, self.holiday_subdivision
        )

    def open_intervals(self, first_day: date, last_day: date) -> Iterator[Interval]:
        """Open spans from `first_day` to `last_day` inclusive, in time order."""
        day = first_day
        while day <= last_day:
            if not self.is_closed_all_day(day):
                todays = [p.on(day) for p in self.periods if p.weekday == day.weekday()]
                yield from sorted(todays)
            day += timedelta(days=1)


@lru_cache(maxsize=64)
def _holidays(subdivision: str, year: int) -> dict[date, str]:
    # A plain dict: looking a date up in the library's own object parses it each time.
    return dict(holidays.country_holidays("DE", subdiv=subdivision, years=year).items())


def is_public_holiday(day: date, subdivision: str = "BW") -> bool:
    """True when `day` is a public holiday in the German state `subdivision`."""
    return day in _holidays(subdivision, day.year)


def _p(weekday: int, opens: str, closes: str) -> OpeningPeriod:
    return OpeningPeriod(weekday, time.fromisoformat(opens), time.fromisoformat(closes))


# Heidelberg's hours: Mon–Fri 08:00–12:00, Wed also 14:00–17:30, Thu also 14:00–16:00.
SEED_PERIODS: tuple[OpeningPeriod, ...] = (
    *(_p(d, "08:00", "12:00") for d in range(5)),
    _p(2, "14:00", "17:30"),
    _p(3, "14:00", "16:00"),
)

# The demo counter is open around the clock every day, holidays included.
AROUND_THE_CLOCK: tuple[OpeningPeriod, ...] = tuple(
    OpeningPeriod(d, time(0, 0), None) for d in range(7)
)

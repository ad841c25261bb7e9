"""Opening hours: a weekly pattern in Berlin wall time, closures and public holidays."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise

import holidays

from hub.booking.timezone import end_of_local_day, local_date, local_instant

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


Span = tuple[time, time | None]  # opens, closes (None: midnight) on one local day


@dataclass(frozen=True)
class DayHours:
    """An exception for one date: open during `spans` only (none: closed all day)."""

    day: date
    spans: tuple[Span, ...]
    reason: str = ""

    def __post_init__(self) -> None:
        _check_spans(self.spans)

    def intervals(self) -> list[Interval]:
        """The open spans on that day, as UTC instants."""
        return sorted(OpeningPeriod(self.day.weekday(), o, c).on(self.day) for o, c in self.spans)


@dataclass(frozen=True)
class WeeklySchedule:
    """When a counter is open: a weekly pattern less closures and (optionally) public holidays.

    An exception for a date (DayHours) is the last word for that date: it replaces the weekly
    hours and wins over closures and public holidays, being the most specific rule there is.
    """

    periods: tuple[OpeningPeriod, ...]
    closures: tuple[Closure, ...] = field(default_factory=tuple)
    holiday_subdivision: str | None = "BW"
    exceptions: tuple[DayHours, ...] = field(default_factory=tuple)
    # Public holidays of the state on which the office works all the same (the city's choice).
    holidays_open: frozenset[date] = frozenset()

    def is_closed_all_day(self, day: date) -> bool:
        """True on a closure day or a public holiday that the schedule observes."""
        if any(c.covers(day) for c in self.closures):
            return True
        return self.observes_holiday(day)

    def observes_holiday(self, day: date) -> bool:
        """True when `day` is a public holiday of the schedule's state that it keeps closed."""
        return (
            self.holiday_subdivision is not None
            and day not in self.holidays_open
            and is_public_holiday(day, self.holiday_subdivision)
        )

    def open_intervals(self, first_day: date, last_day: date) -> Iterator[Interval]:
        """Open spans from `first_day` to `last_day` inclusive, in time order."""
        exceptions = {e.day: e for e in self.exceptions if first_day <= e.day <= last_day}
        day = first_day
        while day <= last_day:
            if day in exceptions:
                yield from exceptions[day].intervals()
            elif not self.is_closed_all_day(day):
                todays = [p.on(day) for p in self.periods if p.weekday == day.weekday()]
                yield from sorted(todays)
            day += timedelta(days=1)

    def is_open_throughout(self, span: Interval) -> bool:
        """True when one opening covers all of `span`."""
        first, last = local_date(span.start), local_date(span.end)
        return any(i.contains(span) for i in self.open_intervals(first, last))


@lru_cache(maxsize=64)
def _holidays(subdivision: str, year: int) -> dict[date, str]:
    # A plain dict: looking a date up in the library's own object parses it each time.
    return dict(holidays.country_holidays("DE", subdiv=subdivision, years=year).items())


def is_public_holiday(day: date, subdivision: str = "BW") -> bool:
    """True when `day` is a public holiday in the German state `subdivision`."""
    return day in _holidays(subdivision, day.year)


@lru_cache(maxsize=64)
def public_holidays(
    subdivision: str, year: int, language: str = "de"
) -> tuple[tuple[date, str], ...]:
    """The public holidays of the German state `subdivision` in `year`, by date, with their
    names in `language` ("de" or "en")."""
    named = holidays.country_holidays(
        "DE", subdiv=subdivision, years=year, language="en_US" if language == "en" else "de"
    )
    return tuple(sorted(named.items()))


# The German states (ISO 3166-2:DE without the prefix), for choosing whose holidays count.
STATES: dict[str, str] = {
    "BW": "Baden-Württemberg",
    "BY": "Bayern",
    "BE": "Berlin",
    "BB": "Brandenburg",
    "HB": "Bremen",
    "HH": "Hamburg",
    "HE": "Hessen",
    "MV": "Mecklenburg-Vorpommern",
    "NI": "Niedersachsen",
    "NW": "Nordrhein-Westfalen",
    "RP": "Rheinland-Pfalz",
    "SL": "Saarland",
    "SN": "Sachsen",
    "ST": "Sachsen-Anhalt",
    "SH": "Schleswig-Holstein",
    "TH": "Thüringen",
}


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


# What IT may type for a weekday: English or German abbreviations.
_DAY_NAMES = {
    **{name: n for n, name in enumerate(WEEKDAY_NAMES)},
    **{name: n for n, name in enumerate(("mo", "di", "mi", "do", "fr", "sa", "so"))},
}
GERMAN_DAYS = ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So")


def _check_spans(spans: Sequence[Span]) -> None:
    ordered = sorted(spans)
    for (_, closes), (opens, _) in pairwise(ordered):
        if closes is None or opens < closes:
            raise ValueError("the opening hours of one day overlap")


def _clock(text: str) -> time | None:
    if text == "24:00":
        return None
    return time.fromisoformat(text)


def parse_spans(text: str) -> tuple[Span, ...]:
    """ "08:00-12:00,14:00-16:00" as spans of one day; "24:00" is midnight."""
    spans: list[Span] = []
    for part in text.split(","):
        pieces = part.strip().split("-")
        try:
            if len(pieces) != 2 or any(len(p.strip()) != 5 for p in pieces):
                raise ValueError
            opens, closes = _clock(pieces[0].strip()), _clock(pieces[1].strip())
        except ValueError:
            raise ValueError(f"{part.strip()!r} is not a span like 08:00-12:00") from None
        if opens is None:
            raise ValueError(f"{part.strip()!r}: a span cannot open at 24:00")
        if closes is not None and closes <= opens:
            raise ValueError(f"{part.strip()!r}: a span must close after it opens")
        spans.append((opens, closes))
    _check_spans(spans)
    return tuple(sorted(spans))


def _days(text: str) -> list[int]:
    days: list[int] = []
    for part in text.lower().split(","):
        ends = part.split("-")
        try:
            numbers = [_DAY_NAMES[e.strip()] for e in ends]
        except KeyError:
            raise ValueError(f"{part!r} is not a weekday (mon … sun or Mo … So)") from None
        if len(numbers) == 1:
            days.append(numbers[0])
        elif len(numbers) == 2 and numbers[0] <= numbers[1]:
            days.extend(range(numbers[0], numbers[1] + 1))
        else:
            raise ValueError(f"{part!r} is not a range of weekdays such as mon-fri")
    return days


def parse_hours(specs: Iterable[str]) -> tuple[OpeningPeriod, ...]:
    """Weekly hours from lines like "mon-fri 08:00-12:00" and "wed 14:00-17:30"."""
    periods: list[OpeningPeriod] = []
    for spec in specs:
        words = spec.split()
        if len(words) != 2:
            raise ValueError(f"{spec!r}: write weekdays and hours, e.g. 'mon 08:00-12:00'")
        spans = parse_spans(words[1])
        periods.extend(OpeningPeriod(d, o, c) for d in _days(words[0]) for o, c in spans)
    if not periods:
        raise ValueError("give at least one opening, e.g. 'mon-fri 08:00-12:00'")
    for weekday in range(7):
        _check_spans([(p.opens, p.closes) for p in periods if p.weekday == weekday])
    return tuple(sorted(set(periods), key=lambda p: (p.weekday, p.opens)))


def format_span(opens: time, closes: time | None) -> str:
    """ "08:00–12:00" (midnight as 24:00)."""
    return f"{opens:%H:%M}–{'24:00' if closes is None else f'{closes:%H:%M}'}"


def _day_ranges(days: list[int]) -> str:
    runs: list[list[int]] = []
    for d in sorted(days):
        if runs and runs[-1][-1] == d - 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return ",".join(
        GERMAN_DAYS[r[0]] if len(r) == 1 else f"{GERMAN_DAYS[r[0]]}–{GERMAN_DAYS[r[-1]]}"
        for r in runs
    )


def format_hours(periods: Iterable[OpeningPeriod]) -> str:
    """Weekly hours in a line: "Mo–Fr 08:00–12:00; Mi 14:00–17:30"."""
    by_span: dict[Span, list[int]] = {}
    for p in periods:
        by_span.setdefault((p.opens, p.closes), []).append(p.weekday)
    order = sorted(by_span.items(), key=lambda item: (min(item[1]), item[0][0]))
    return "; ".join(f"{_day_ranges(days)} {format_span(*span)}" for span, days in order)

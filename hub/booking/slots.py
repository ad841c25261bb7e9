"""Free slots: where a service fits inside opening hours while some counter is free."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.booking.schedule import Interval, WeeklySchedule
from hub.booking.timezone import local_date

# Occupancy is recorded in grid units of this size; durations and steps are multiples of it.
GRID_MINUTES = 5


@dataclass(frozen=True)
class Counter:
    """A clerk's counter and the schedule it keeps."""

    id: int
    schedule: WeeklySchedule


class BusyTimes:
    """Booked spans per counter, sorted, for fast overlap checks."""

    def __init__(self, busy: Mapping[int, Iterable[Interval]]) -> None:
        self._starts: dict[int, list[datetime]] = {}
        self._ends: dict[int, list[datetime]] = {}
        for counter_id, spans in busy.items():
            ordered = sorted(spans, key=lambda span: span.start)
            self._starts[counter_id] = [span.start for span in ordered]
            self._ends[counter_id] = [span.end for span in ordered]

    @classmethod
    def from_sorted_rows(cls, rows: Iterable[tuple[int, datetime, datetime]]) -> BusyTimes:
        """Build from (counter, start, end) rows already ordered by counter and start."""
        busy = cls({})
        for counter_id, start, end in rows:
            starts = busy._starts.get(counter_id)
            if starts is None:
                starts = busy._starts[counter_id] = []
                busy._ends[counter_id] = []
            starts.append(start)
            busy._ends[counter_id].append(end)
        return busy

    def is_free(self, counter_id: int, start: datetime, end: datetime) -> bool:
        """True when nothing booked on the counter overlaps [start, end)."""
        starts = self._starts.get(counter_id)
        if not starts:
            return True
        # Only spans starting before `end` can overlap; booked spans on one counter never overlap
        # each other, so the latest of those is the only candidate.
        i = bisect.bisect_left(starts, end)
        return i == 0 or self._ends[counter_id][i - 1] <= start


def _starts_in(
    schedule: WeeklySchedule, window: Interval, duration: timedelta, step: timedelta
) -> Iterator[datetime]:
    """Slot starts every `step` from each opening, the slot inside the opening and the window."""
    for period in schedule.open_intervals(local_date(window.start), local_date(window.end)):
        start = period.start
        if start < window.start:  # skip ahead, staying on this opening's step grid
            start += -((start - window.start) // step) * step
        last = min(period.end, window.end) - duration
        while start <= last:
            yield start
            start += step


def _by_schedule(counters: Sequence[Counter]) -> dict[WeeklySchedule, list[int]]:
    groups: dict[WeeklySchedule, list[int]] = {}
    for counter in counters:
        groups.setdefault(counter.schedule, []).append(counter.id)
    return groups


def free_slots(
    counters: Sequence[Counter],
    busy: BusyTimes,
    window: Interval,
    duration: timedelta,
    step: timedelta,
) -> list[Interval]:
    """Every slot in `window` for which at least one counter is open and free."""
    found: set[datetime] = set()
    for schedule, ids in _by_schedule(counters).items():
        for start in _starts_in(schedule, window, duration, step):
            if start not in found:
                end = start + duration
                if any(busy.is_free(c, start, end) for c in ids):
                    found.add(start)
    return [Interval(start, start + duration) for start in sorted(found)]


def counters_offering(counters: Sequence[Counter], slot: Interval, step: timedelta) -> list[int]:
    """Counters whose schedule offers exactly this slot (open throughout, on the step grid)."""
    duration = slot.end - slot.start
    offering: list[int] = []
    for schedule, ids in _by_schedule(counters).items():
        if slot.start in _starts_in(schedule, slot, duration, step):
            offering.extend(ids)
    return offering


def grid_units(span: Interval) -> list[int]:
    """The grid units (epoch minutes, multiples of GRID_MINUTES) that `span` occupies."""
    first = int(span.start.timestamp()) // 60
    last = int(span.end.timestamp()) // 60
    first -= first % GRID_MINUTES
    return list(range(first, last, GRID_MINUTES))

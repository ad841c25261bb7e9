"""Free slots: where a service fits inside opening hours while some counter is free."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

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
        self._spans: dict[int, list[Interval]] = {c: sorted(s) for c, s in busy.items()}
        self._starts = {c: [s.start for s in spans] for c, spans in self._spans.items()}

    def is_free(self, counter_id: int, span: Interval) -> bool:
        """True when nothing booked on the counter overlaps `span`."""
        spans = self._spans.get(counter_id)
        if not spans:
            return True
        # Only the spans starting before `span` ends can overlap it; since booked spans on one
        # counter never overlap each other, the latest of them is the only candidate.
        i = bisect.bisect_left(self._starts[counter_id], span.end)
        return i == 0 or spans[i - 1].end <= span.start


def candidate_starts(
    schedule: WeeklySchedule, window: Interval, duration: timedelta, step: timedelta
) -> Iterable[Interval]:
    """Slots of `duration` every `step` from each opening, entirely inside it and the window."""
    first, last = local_date(window.start), local_date(window.end)
    for period in schedule.open_intervals(first, last):
        start = period.start
        while start + duration <= period.end:
            slot = Interval(start, start + duration)
            if window.contains(slot):
                yield slot
            start += step


def free_slots(
    counters: Sequence[Counter],
    busy: BusyTimes,
    window: Interval,
    duration: timedelta,
    step: timedelta,
) -> list[Interval]:
    """Every slot in `window` for which at least one counter is open and free."""
    by_schedule: dict[WeeklySchedule, list[int]] = {}
    for counter in counters:
        by_schedule.setdefault(counter.schedule, []).append(counter.id)
    found: set[Interval] = set()
    for schedule, ids in by_schedule.items():
        for slot in candidate_starts(schedule, window, duration, step):
            if slot not in found and any(busy.is_free(c, slot) for c in ids):
                found.add(slot)
    return sorted(found)


def counters_offering(counters: Sequence[Counter], slot: Interval, step: timedelta) -> list[int]:
    """Counters whose schedule offers exactly this slot (open throughout, on the step grid)."""
    duration = slot.end - slot.start
    return [
        c.id
        for c in counters
        if any(s == slot for s in candidate_starts(c.schedule, slot, duration, step))
    ]


def grid_units(span: Interval) -> list[int]:
    """The grid units (epoch minutes, multiples of GRID_MINUTES) that `span` occupies."""
    first = int(span.start.timestamp()) // 60
    last = int(span.end.timestamp()) // 60
    first -= first % GRID_MINUTES
    return list(range(first, last, GRID_MINUTES))

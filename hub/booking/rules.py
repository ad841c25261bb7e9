"""Booking rules: lead time, horizon and the slot grid, and the errors they raise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from hub.booking.schedule import Interval
from hub.booking.slots import GRID_MINUTES
from hub.booking.timezone import end_of_local_day, require_aware, start_of_local_day


class BookingError(Exception):
    """A booking request that the rules refuse; `code` is stable, `field` names the input."""

    def __init__(self, code: str, field: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.field = field


class SlotTaken(BookingError):
    """Every counter offering the slot is booked; `alternatives` are the next free slots."""

    def __init__(self, alternatives: list[Interval]) -> None:
        super().__init__("slot_taken", "start")
        self.alternatives = alternatives


@dataclass(frozen=True)
class BookingPolicy:
    """How far ahead citizens may book and how slots are laid out."""

    lead: timedelta = timedelta(minutes=15)
    horizon: timedelta = timedelta(days=56)
    step: timedelta = timedelta(minutes=15)
    max_range_days: int = 62

    def __post_init__(self) -> None:
        grid = timedelta(minutes=GRID_MINUTES)
        if self.step <= timedelta(0) or self.step % grid:
            raise ValueError(f"the slot step must be a positive multiple of {GRID_MINUTES} minutes")
        if self.lead < timedelta(0) or self.horizon <= self.lead:
            raise ValueError("the horizon must lie after the lead time")

    def bookable(self, now: datetime) -> Interval:
        """The span in which slots may start and end, seen at `now` (exact durations, in UTC)."""
        now = require_aware(now, "now")
        return Interval(now + self.lead, now + self.horizon)

    def window(self, now: datetime, first_day: date, last_day: date) -> Interval | None:
        """Bookable part of the local days `first_day`..`last_day`, or None when there is none."""
        if last_day < first_day:
            raise BookingError("invalid_range", "to")
        if (last_day - first_day).days >= self.max_range_days:
            raise BookingError("range_too_long", "to")
        days = Interval(start_of_local_day(first_day), end_of_local_day(last_day))
        bookable = self.bookable(now)
        start, end = max(days.start, bookable.start), min(days.end, bookable.end)
        return Interval(start, end) if start < end else None

    def check_start(self, now: datetime, slot: Interval) -> None:
        """Refuse a slot that starts too soon or ends beyond the horizon."""
        bookable = self.bookable(now)
        if slot.start < bookable.start:
            raise BookingError("start_too_soon", "start")
        if slot.end > bookable.end:
            raise BookingError("start_too_far", "start")


MAX_DURATION_MINUTES = 480


def validate_duration(minutes: int) -> timedelta:
    """A service duration is a positive multiple of the occupancy grid, at most 8 hours."""
    if minutes <= 0 or minutes % GRID_MINUTES or minutes > MAX_DURATION_MINUTES:
        raise ValueError(
            f"durations must be multiples of {GRID_MINUTES} minutes, at most {MAX_DURATION_MINUTES}"
        )
    return timedelta(minutes=minutes)

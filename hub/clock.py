"""Injectable clocks: the hub never calls datetime.now() directly."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The real time, in UTC."""
    return datetime.now(UTC)


def clock_starting_at(start: datetime) -> Clock:
    """A clock that reads `start` now and runs forward in real time (tests, demos)."""
    origin = time.monotonic()

    def now() -> datetime:
        return start.astimezone(UTC) + timedelta(seconds=time.monotonic() - origin)

    return now


def fixed_clock(instant: datetime) -> Clock:
    """A clock that always reads `instant`."""
    return lambda: instant.astimezone(UTC)


def configured_clock(start: datetime | None) -> Clock:
    """The clock a hub process or command runs on: the real time, or from `start` on (the
    clock_start setting, for tests and demos)."""
    return clock_starting_at(start) if start is not None else system_clock

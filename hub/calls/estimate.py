"""An honest estimate of a waiting citizen's wait: what we know, and nothing we do not."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Reason(StrEnum):
    """What the wait depends on."""

    CLERK_READY = "clerk_ready"  # the clerk is free: admission any moment
    NOT_YET_TIME = "not_yet_time"  # the clerk admits at the appointment's time
    CLERK_BUSY = "clerk_busy"  # another call (or people ahead) first
    OVERRUNNING = "overrunning"  # the clerk's previous call runs past its planned end
    COUNTER_OFFLINE = "counter_offline"  # nobody at the counter yet: no estimate


@dataclass(frozen=True)
class Wait:
    """Position in the counter's queue (1 = next) and minutes to wait, None when unknown."""

    position: int
    minutes: int | None
    reason: Reason


def estimate(
    *,
    now: datetime,
    start: datetime,
    counter_online: bool,
    current_call_end: datetime | None,
    ahead: Sequence[timedelta],
) -> Wait:
    """The wait of a citizen whose appointment starts at `start`.

    `current_call_end` is the planned end of the call the clerk is in (None when free) and
    `ahead` the planned durations of the citizens waiting before this one at the same counter.
    """
    position = len(ahead) + 1
    if not counter_online:
        return Wait(position, None, Reason.COUNTER_OFFLINE)
    busy = timedelta(0)
    reason = Reason.CLERK_READY
    if current_call_end is not None:
        remaining = current_call_end - now
        # Running over: we cannot know by how much; say so and count at least a minute.
        reason = Reason.CLERK_BUSY if remaining > timedelta(0) else Reason.OVERRUNNING
        busy = max(remaining, timedelta(minutes=1))
    busy += sum(ahead, timedelta(0))
    if ahead and reason is Reason.CLERK_READY:
        reason = Reason.CLERK_BUSY
    until_start = start - now
    if until_start > busy:
        busy, reason = until_start, Reason.NOT_YET_TIME
    minutes = math.ceil(busy.total_seconds() / 60) if busy > timedelta(0) else 0
    return Wait(position, minutes, reason)

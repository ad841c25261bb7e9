"""Waiting for a condition instead of sleeping: a deadline that bounds every wait of a step, and a
poll until something holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Deadline:
    """A moment `seconds` from now; the waits of one step share it, so the step as a whole is
    bounded: `party.next("revoked", timeout=deadline.remaining())`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self.at = self.started + seconds

    def remaining(self) -> float:
        """Seconds left, never below zero (a wait with no time left only looks once)."""
        return max(0.0, self.at - time.monotonic())

    def remaining_ms(self) -> float:
        """Milliseconds left, for Playwright's timeouts (at least 1: 0 would mean no limit)."""
        return max(1.0, self.remaining() * 1000)

    def elapsed(self) -> float:
        """Seconds since the deadline was set."""
        return time.monotonic() - self.started


def wait_until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll `condition` until it returns something true, and return that; fail after `timeout`
    seconds saying `what` did not happen."""
    deadline = Deadline(timeout)
    while True:
        value = condition()
        if value:
            return value
        if deadline.remaining() <= 0:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(interval)

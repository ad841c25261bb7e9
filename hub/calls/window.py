"""When a citizen may enter the lobby: from a while before the start until after the end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# Lifetime of TURN credentials handed out before the join window opens (the device check).
DEVICE_CHECK_TTL = timedelta(minutes=10)


class Refusal(StrEnum):
    """Why a join link cannot enter the lobby now; the page shows a text for each."""

    UNKNOWN = "unknown_token"
    CANCELLED = "cancelled"
    NOT_CONFIRMED = "not_confirmed"
    TOO_EARLY = "too_early"
    TOO_LATE = "too_late"
    ENDED = "call_ended"


@dataclass(frozen=True)
class JoinWindow:
    """Open `before` the start until `grace` after the end of an appointment."""

    before: timedelta
    grace: timedelta

    def opens(self, start: datetime) -> datetime:
        """The first instant the lobby admits this appointment's citizen."""
        return start - self.before

    def closes(self, end: datetime) -> datetime:
        """The instant after which the join link no longer opens the lobby."""
        return end + self.grace

    def check(self, start: datetime, end: datetime, now: datetime) -> Refusal | None:
        """None when `now` lies in the window, else why not."""
        if now < self.opens(start):
            return Refusal.TOO_EARLY
        if now > self.closes(end):
            return Refusal.TOO_LATE
        return None

    def credential_ttl(
        self, start: datetime, end: datetime, now: datetime, full: timedelta
    ) -> timedelta | None:
        """How long TURN credentials for this appointment's page may live at `now`; None: none.

        In the window: `full`, the call's own lifetime. Before it, a citizen may test their
        devices days ahead, but only with credentials that expire soon (the test takes
        seconds): a booking is no ticket to a TURN relay for weeks. After the window: nothing.
        """
        if now > self.closes(end):
            return None
        return min(full, DEVICE_CHECK_TTL) if now < self.opens(start) else full

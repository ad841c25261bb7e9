"""An appointment's status and the rules that depend on it; the database stores these values."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from hub.booking.rules import BookingError


class Status(StrEnum):
    """Where an appointment stands."""

    HELD = "held"  # waits until `hold_until` for the citizen to confirm from the e-mail
    BOOKED = "booked"
    CANCELLED = "cancelled"  # by the citizen, from the manage link
    RELEASED = "released"  # a hold nobody confirmed in time

    def expired(self, hold_until: datetime | None, now: datetime) -> bool:
        """Released, or held past its `hold_until` (and only waiting to be marked released)."""
        held_past = self is Status.HELD and hold_until is not None and hold_until <= now
        return self is Status.RELEASED or held_past

    def takes_time(self, hold_until: datetime | None, now: datetime) -> bool:
        """Whether the appointment keeps its counter's time: booked, or held and not expired."""
        return self in OCCUPYING and not self.expired(hold_until, now)

    @property
    def withdrawn(self) -> bool:
        """Cancelled or released: the appointment no longer stands, and nobody will come."""
        return self in (Status.CANCELLED, Status.RELEASED)

    @property
    def joinable(self) -> bool:
        """Only a booked appointment opens its video call (a hold must be confirmed first)."""
        return self is Status.BOOKED


# Statuses that can keep a counter's time; for a hold only until it expires (`takes_time`).
OCCUPYING = frozenset({Status.HELD, Status.BOOKED})
# What a counter's day lists: its bookings, and the cancelled ones, so the clerk knows.
ON_THE_DAY = frozenset({Status.BOOKED, Status.CANCELLED})


def check_changeable(
    status: Status, hold_until: datetime | None, start: datetime, now: datetime
) -> None:
    """Refuse moving, cancelling or confirming an appointment that is cancelled, released (or
    its hold expired) or already under way."""
    if status is Status.CANCELLED:
        raise BookingError("appointment_cancelled")
    if status.expired(hold_until, now):
        raise BookingError("hold_expired")
    if start <= now:
        raise BookingError("appointment_past")

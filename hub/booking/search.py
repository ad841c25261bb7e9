"""Finding appointments in the office's register (the admin area's appointments page): what may
be asked, and the one state name per appointment the page shows and filters by.

Privacy: staff may look up appointments by day, service and state freely, but by a citizen's
name or e-mail address only within a date range of at most NAME_SEARCH_MAX_DAYS days or for
one service, so that nobody browses the whole register for a person."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from hub.booking.rules import BookingError
from hub.booking.status import Status

NAME_SEARCH_MAX_DAYS = 31  # a month, counting both ends
MAX_RANGE_DAYS = 366  # any search: a year at most, counting both ends
WHO_MAX_LENGTH = 254  # an e-mail address at most
REFERENCE = re.compile(r"^[0-9a-f]{8}$")


class State(StrEnum):
    """Where an appointment stands, as the office sees it: its booking status, and for a
    booked one that has been held, the outcome the clerk recorded."""

    HELD = "held"  # waits for the citizen to confirm from the e-mail
    BOOKED = "booked"  # to come, or under way
    DONE = "done"
    FOLLOW_UP = "follow_up"  # talked, the matter needs more work
    NO_SHOW = "no_show"
    DROPPED = "dropped"  # the call broke off and did not come back
    CANCELLED = "cancelled"
    RELEASED = "released"  # a hold nobody confirmed in time


# The outcomes of a call that name the state of a booked appointment (others leave it booked).
OUTCOME_STATES = {
    "done": State.DONE,
    "follow_up": State.FOLLOW_UP,
    "no_show": State.NO_SHOW,
    "dropped": State.DROPPED,
}


def state_of(
    status: Status, hold_until: datetime | None, outcome: str | None, now: datetime
) -> State:
    """The office's state of an appointment from its status and its call's outcome."""
    if status is Status.CANCELLED:
        return State.CANCELLED
    if status.expired(hold_until, now):
        return State.RELEASED
    if status is Status.HELD:
        return State.HELD
    return OUTCOME_STATES.get(outcome or "", State.BOOKED)


def reference_of(appointment_id_hex: str) -> str:
    """An appointment as staff quote it: the first 8 hex digits of its random id, upper case
    (as the cash office does); no name."""
    return appointment_id_hex[:8].upper()


def parse_reference(raw: str) -> str | None:
    """A typed reference (`3F2A 9C01`, `3f2a9c01`) in lower case, or None if it is none."""
    compact = "".join(raw.split()).lower()
    return compact if REFERENCE.match(compact) else None


def fold(text: str) -> str:
    """A name as the search compares it: NFC, case-folded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


@dataclass(frozen=True)
class Search:
    """What the office asks for: local days `first_day`..`last_day` (both included), and
    optionally a service, a state, and `who` (part of the citizen's name, or their whole
    e-mail address)."""

    first_day: date
    last_day: date
    service_id: str | None = None
    state: State | None = None
    who: str = ""

    @property
    def days(self) -> int:
        """How many days the range covers."""
        return (self.last_day - self.first_day).days + 1

    @property
    def by_email(self) -> bool:
        """Whether `who` is an e-mail address (compared whole) rather than a name (a part)."""
        return "@" in self.who

    def check(self) -> None:
        """Refuse a search the office may not make: a range backwards or over a year, or a
        name or e-mail search without a short range or a service (`name_needs_criteria`)."""
        if self.last_day < self.first_day:
            raise BookingError("invalid_range", "to")
        if self.days > MAX_RANGE_DAYS:
            raise BookingError("range_too_long", "to")
        if len(self.who) > WHO_MAX_LENGTH:
            raise BookingError("who_too_long", "who")
        if self.who and self.service_id is None and self.days > NAME_SEARCH_MAX_DAYS:
            raise BookingError("name_needs_criteria", "who")

    def matches_name(self, name: str) -> bool:
        """Whether a citizen's `name` contains the name asked for (any case, any spacing)."""
        return fold(self.who) in fold(name)

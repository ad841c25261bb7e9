"""The `/appliance` namespace: a counter appliance, acting for the clerk signed in at it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from protocol.base import News, Request
from protocol.limits import MAX_NOTES, MAX_PASSWORD, MAX_USERNAME, AppointmentId
from protocol.views import CallView, DayEntry, HeldCall, WithLobby
from protocol.vocabulary import ClerkOutcome

NAMESPACE = "/appliance"


# --- appliance → hub ---


class SignIn(Request):
    """A clerk signing in at the appliance."""

    username: str = Field(min_length=1, max_length=MAX_USERNAME)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class CallRef(Request):
    """Names a call (admit)."""

    appointment: AppointmentId


class End(CallRef):
    """The clerk ends a call: done, needs follow-up, or the citizen never came."""

    outcome: ClerkOutcome


class Record(CallRef):
    """After hanging up: the outcome the clerk chose, and their notes."""

    outcome: ClerkOutcome
    notes: str = Field("", max_length=MAX_NOTES)


# --- hub → appliance ---


class Clerk(News):
    """The clerk signed in at an appliance."""

    id: int
    username: str
    name: str


class Device(News):
    """The appliance as the hub knows it."""

    id: int
    name: str
    counter: int


class Counter(News):
    """The counter an appliance serves."""

    id: int
    name: str


class Hello(WithLobby):
    """After connecting: who the appliance is, the clerk whose session was resumed, the call it
    holds, and the lobby (`{}` unless a clerk's session was resumed: the lobby names citizens)."""

    protocol: int = 1
    device: Device
    counter: Counter
    clerk: Clerk | None
    call: HeldCall | None


class DayChanged(News):
    """An appointment of this counter changed: fetch `day` (nothing personal in here)."""

    counter: int


class Revoked(News):
    """The device was revoked; the connection closes next. Do not reconnect."""

    reason: str


# --- answers (acknowledgements) ---


class SignedIn(WithLobby):
    """`sign_in` done: keep `session` and send it as `auth.clerk_session` on every reconnect."""

    ok: Literal[True] = True
    clerk: Clerk
    session: str


class Admitted(News):
    """`admit` done: the call with its ICE servers."""

    ok: Literal[True] = True
    call: HeldCall


class CallDone(News):
    """`end` or `record` done: the call as it stands now."""

    ok: Literal[True] = True
    call: CallView


class Day(News):
    """`day` done: today's appointments at this counter and calls taken over, by time."""

    ok: Literal[True] = True
    day: list[DayEntry]

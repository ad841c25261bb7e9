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


# As protocol.kiosk.DeviceHealth (which imports this module, so it cannot be imported here).
DeviceHealth = Literal["ok", "stalled", "off", "absent"]


class DevicesHealth(Request):
    """Each device's health as the appliance's own checks last found it."""

    camera: DeviceHealth
    microphone: DeviceHealth
    speaker: DeviceHealth
    scanner: DeviceHealth


class Heartbeat(Request):
    """What the appliance reports every `heartbeat_seconds` (10–30 s) for IT's fleet view.
    Bounded so that a wrong sensor cannot write nonsense into the hub's table; null where the
    machine cannot tell (no thermal zone, no heartbeat answered yet)."""

    version: str = Field(min_length=1, max_length=40)
    uptime_s: int = Field(ge=0, le=10 * 366 * 86400)  # of the daemon
    cpu_temp_c: float | None = Field(ge=-40, le=150)
    load: float = Field(ge=0, le=1000)  # load average over one minute
    disk_free_mb: int = Field(ge=0, le=1 << 40)  # of the data directory's file system
    devices: DevicesHealth
    rtt_ms: float | None = Field(ge=0, le=600_000)  # the previous heartbeat's answer time


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


class HeartbeatAck(News):
    """`heartbeat` stored: the hub's time (ISO 8601, UTC; an appliance may compare its clock)."""

    ok: Literal[True] = True
    time: str


class Day(News):
    """`day` done: today's appointments at this counter and calls taken over, by time."""

    ok: Literal[True] = True
    day: list[DayEntry]

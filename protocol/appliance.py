"""The `/appliance` namespace: a counter appliance, acting for the clerk signed in at it."""

from __future__ import annotations

from typing import Annotated, Literal

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


# Remote actions (docs/operations.md, "Remote actions"): what IT may ask of one appliance.
ActionKind = Literal["restart", "reboot", "identify", "settings", "update", "logs"]
# `running`: an update under way (installed, switching, checking the new version).
ActionState = Literal["waiting", "running", "done", "failed"]
# A release as pip names it; also a folder name on the appliance, so nothing a path reads.
VERSION = r"^[0-9][0-9A-Za-z.+!-]{0,39}$"
LOG_LINE_CHARS = 400
MAX_LOG_LINES = 500
DEVICE_NAME = r"^[A-Za-z0-9_:,.=@/-]{1,64}$"  # an ALSA or SANE device name, nothing a shell reads


class PushedSettings(Request):
    """The appliance settings IT may push from the hub (a whitelist; absent: left as is).
    The appliance keeps them in `<data_dir>/settings.json`, above its environment."""

    width: int | None = Field(None, ge=160, le=1920)  # camera resolution
    height: int | None = Field(None, ge=120, le=1080)
    speaker_device: str | None = Field(None, pattern=DEVICE_NAME)
    scanner: Literal["none", "sane", "camera", "synthetic"] | None = None
    scanner_device: str | None = Field(None, pattern=DEVICE_NAME)
    counter_label: str | None = Field(None, min_length=1, max_length=40)  # the name shown

    def given(self) -> dict[str, object]:
        """The settings this push sets (the others stay as they are)."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


# Settings the appliance reads only when it starts (the devices are opened then).
RESTART_SETTINGS = frozenset({"width", "height", "speaker_device", "scanner", "scanner_device"})


class ActionResult(Request):
    """How a remote action went: `waiting` (for the call to end), `running` (an update under
    way), `done` or `failed`; `log`: the daemon's last lines (kind `logs`), oldest first."""

    id: int = Field(ge=1)
    state: ActionState
    result: str = Field("", max_length=200)
    log: list[Annotated[str, Field(max_length=LOG_LINE_CHARS)]] | None = Field(
        None, max_length=MAX_LOG_LINES
    )


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


class Action(News):
    """IT asks this appliance to act: restart the daemon, reboot, identify itself, take
    settings, update to `version`, or send its last `lines` of log. `force`: even during a call
    (otherwise one that would break it waits)."""

    id: int
    kind: ActionKind
    force: bool = False
    settings: PushedSettings | None = None  # kind `settings` only
    version: str | None = Field(None, pattern=VERSION)  # kind `update` only
    lines: int | None = Field(None, ge=1, le=MAX_LOG_LINES)  # kind `logs` only

    @property
    def breaks_call(self) -> bool:
        """Whether running it now would end a call under way."""
        if self.kind in ("restart", "reboot", "update"):
            return True
        if self.kind == "settings" and self.settings is not None:
            return bool(self.settings.given().keys() & RESTART_SETTINGS)
        return False


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

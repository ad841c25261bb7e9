"""The kiosk page ↔ appliance socket on 127.0.0.1: the commands the page sends (validated
strictly), the one state message the appliance pushes, and the replies."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from protocol.appliance import Clerk, Counter
from protocol.base import Error, News, Request, absent_when_null
from protocol.documents import Documents
from protocol.limits import (
    MAX_NOTES,
    MAX_PASSWORD,
    MAX_USERNAME,
    UUID_PATTERN,
    AppointmentId,
    PaymentId,
)
from protocol.payments import MAX_LINES, CallPayments, LineWanted
from protocol.views import CallView, DayEntry, WithLobby
from protocol.vocabulary import ClerkOutcome

# --- page → appliance: `{"id": n, "cmd": name, ...arguments}` ---


class Command(Request):
    """Every command carries its request id."""

    id: int = Field(ge=0, le=2**53)


class SignIn(Command):
    """Sign the clerk in at the hub; the PIN opens the screen lock later."""

    cmd: Literal["sign_in"]
    username: str = Field(min_length=1, max_length=MAX_USERNAME)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)
    pin: str = Field(max_length=16)


class Unlock(Command):
    """Open the screen lock with the clerk's PIN."""

    cmd: Literal["unlock"]
    pin: str = Field(max_length=16)


class Plain(Command):
    """Lock now; sign out; a touch (keeps the idle lock away)."""

    cmd: Literal["lock", "sign_out", "activity"]


class OnAppointment(Command):
    """Let a citizen in; hang up (done); close as "did not come"."""

    cmd: Literal["admit", "hang_up", "no_show"]
    appointment: AppointmentId


class Record(Command):
    """The outcome of the call that ended, and the clerk's notes."""

    cmd: Literal["record"]
    appointment: AppointmentId
    outcome: ClerkOutcome
    notes: str = Field("", max_length=MAX_NOTES)


class Notes(Command):
    """Keep the clerk's draft notes of a call."""

    cmd: Literal["notes"]
    appointment: AppointmentId
    notes: str = Field(max_length=MAX_NOTES)


Kind = Literal["camera", "microphone"]


class Send(Command):
    """Camera or microphone on or off (black frames or silence go out instead)."""

    cmd: Literal["send"]
    kind: Kind
    on: bool


MAX_REASON = 500
MAX_SCAN_PAGES = 30
DocumentId = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]


class Review(Command):
    """Accept a citizen's file, or ask for it again (`reason` required then)."""

    cmd: Literal["review"]
    appointment: AppointmentId
    document: DocumentId
    accepted: bool
    reason: str = Field("", max_length=MAX_REASON)


class Scan(Command):
    """Scan a page, or discard the pages not sent."""

    cmd: Literal["scan", "scan_discard"]


class OnPage(Command):
    """Turn a scanned page a quarter, remove it, or scan it again."""

    cmd: Literal["scan_rotate", "scan_remove", "scan_retake"]
    page: int = Field(ge=0, lt=MAX_SCAN_PAGES)


class SendScan(Command):
    """The scanned pages as one PDF to the citizen, optionally answering a checklist entry."""

    cmd: Literal["scan_send"]
    appointment: AppointmentId
    name: str = Field(min_length=1, max_length=100)
    item: int | None = Field(None, ge=0, le=100)


class SendFile(Command):
    """A file from the operator's folders to the citizen, by its id in the state's `folder`."""

    cmd: Literal["send_file"]
    appointment: AppointmentId
    file: str = Field(pattern=r"^[0-9a-f]{16}$")


class PayRequest(Command):
    """Ask the citizen of the call to pay these fee items (the hub prices them)."""

    cmd: Literal["pay_request"]
    appointment: AppointmentId
    lines: list[LineWanted] = Field(min_length=1, max_length=MAX_LINES)


class OnPayment(Command):
    """Cancel an unpaid request, or send it by e-mail to pay later."""

    cmd: Literal["pay_cancel", "pay_mail"]
    appointment: AppointmentId
    payment: PaymentId


AnyCommand = Annotated[
    SignIn
    | Unlock
    | Plain
    | OnAppointment
    | Record
    | Notes
    | Send
    | Review
    | Scan
    | OnPage
    | SendScan
    | SendFile
    | PayRequest
    | OnPayment,
    Field(discriminator="cmd"),
]

# --- appliance → page ---

ScreenName = Literal[
    "offline", "refused", "enrolment", "sign_in", "locked", "day", "call", "outcome"
]
HubLinkState = Literal["connecting", "online", "offline", "refused"]
Quality = Literal["good", "fair", "poor", "unknown"]
CallMedia = Literal["connecting", "connected", "lost"]
DeviceHealth = Literal["ok", "stalled", "off", "absent"]


class LockView(News):
    """The screen lock; `armed`: a PIN was set here (without one nothing could open it)."""

    locked: bool
    attempts_left: int
    armed: bool


class CallOnScreen(CallView):
    """The held call with how its media stands and the clerk's draft notes."""

    media: CallMedia
    quality: Quality
    since_ms: int | None
    notes: str | None = ""


class RecordOnScreen(CallView):
    """The ended call awaiting its outcome, with the clerk's draft notes."""


class Sending(News):
    """Camera and microphone on (true) or switched off by the clerk."""

    camera: bool
    microphone: bool


class Devices(News):
    """Each device's health as the screen shows it."""

    camera: DeviceHealth
    microphone: DeviceHealth
    scanner: DeviceHealth


class ScanPageView(News):
    """A scanned page waiting to be sent; its preview is at /scan/<id>.jpg?rotation=<r>."""

    id: str
    rotation: int


class ScanView(News):
    """The scanner's desk: whether this counter can scan, a scan under way, the pages."""

    available: bool
    scanning: bool
    pages: list[ScanPageView]


class FolderFile(News):
    """A file in the operator's folders the clerk may hand over as it is."""

    id: str
    name: str
    size: int


EnrolmentState = Literal["pending", "token_refused", "revoked"]


class EnrolmentView(News):
    """An appliance not (yet) let in by IT: what IT compares with the hub's request
    (docs/operations.md, "The appliance's key and enrolment")."""

    state: EnrolmentState
    claim_code: str = Field(max_length=16)  # "K7P-4QX"
    fingerprint: str = Field(max_length=64)
    hub: str = Field(max_length=200)  # the hub's address the appliance enrols at


class KioskState(WithLobby):
    """Everything the page shows, in one message; names and appointments only while a clerk
    works with it (screens day, call, outcome); `lobby` is `{}` otherwise."""

    screen: ScreenName
    hub: HubLinkState
    counter: Counter | None
    clerk: Clerk | None
    lock: LockView
    day: list[DayEntry]
    call: CallOnScreen | None
    record: RecordOnScreen | None
    sending: Sending
    devices: Devices
    documents: Documents | None = None  # of the call on screen
    scan: ScanView | None = None
    folder: list[FolderFile] = Field(default_factory=list)  # only during a call
    payments: CallPayments | None = None  # of the call on screen
    enrolment: EnrolmentView | None = None  # screen enrolment only
    identify: bool = False  # IT looks for this counter: flash and chime (remote action)


class StateMessage(News):
    """`{"type": "state", "state": {...}}`, coalesced to one per 50 ms."""

    type: Literal["state"] = "state"
    state: KioskState


class Reply(News):
    """The answer to one command (`id` null when the command could not be read)."""

    type: Literal["reply"] = "reply"
    id: int | None
    ok: bool
    error: Error | None = absent_when_null()  # no `error` field on success

    @model_validator(mode="after")
    def _error_when_refused(self) -> Reply:
        if self.ok == (self.error is not None):
            raise ValueError("a reply carries an error exactly when it is not ok")
        return self

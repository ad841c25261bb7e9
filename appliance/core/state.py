"""The counter's state as it publishes it: one typed, immutable snapshot per change."""

from __future__ import annotations

from dataclasses import dataclass, field

from protocol.appliance import Clerk
from protocol.appliance import Counter as CounterInfo
from protocol.documents import CallDocuments
from protocol.kiosk import CallMedia, DeviceHealth, HubLinkState, Kind, Quality
from protocol.payments import CallPayments
from protocol.views import CallView, DayEntry, Lobby

LinkState = HubLinkState


@dataclass
class Sending:
    """Whether the clerk's camera and microphone go out (off: black frames or silence go out
    instead, the connection stays). The media adapter reads it for every frame."""

    camera: bool = True
    microphone: bool = True

    def set(self, kind: Kind, on: bool) -> None:
        """Switch one of them."""
        setattr(self, kind, on)


@dataclass(frozen=True)
class DeviceReport:
    """Each device's health as its liveness check last found it."""

    camera: DeviceHealth = "ok"
    microphone: DeviceHealth = "ok"
    speaker: DeviceHealth = "ok"
    scanner: DeviceHealth = "absent"


@dataclass(frozen=True)
class CallSnapshot:
    """A held call: what the hub says of it, and how its media stands here."""

    view: CallView | None
    appointment: str
    media: CallMedia
    quality: Quality
    since: float | None  # unix time media first flowed


@dataclass(frozen=True)
class ScanPage:
    """A page scanned and not sent yet, with the rotation the clerk gave it."""

    id: str
    rotation: int = 0  # degrees clockwise: 0, 90, 180 or 270


@dataclass(frozen=True)
class CounterState:
    """Everything the counter knows that a screen might show."""

    link: LinkState
    counter: CounterInfo | None
    clerk: Clerk | None
    lobby: Lobby | None
    day: tuple[DayEntry, ...]
    call: CallSnapshot | None
    to_record: CallView | None
    sending: tuple[bool, bool]  # camera, microphone
    devices: DeviceReport = field(default_factory=DeviceReport)
    documents: CallDocuments | None = None  # of the held call
    scan: tuple[ScanPage, ...] = ()
    scanning: bool = False
    can_scan: bool = False
    payments: CallPayments | None = None  # of the held call
    identify: bool = False  # IT asked the counter to show itself (flash and chime)

"""What the core needs from its adapters, as interfaces: the hub (requests and their answers)
and the media of a call. The core imports no adapter; the daemon hands it implementations."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError

from protocol.appliance import Action, ActionState
from protocol.base import News, Request
from protocol.documents import Documents
from protocol.kiosk import CallMedia, Quality
from protocol.signalling import ApplianceSignal, IceServer

HUB_UNREACHABLE = "hub_unreachable"
log = logging.getLogger("appliance.hub")
N = TypeVar("N", bound=News)


@dataclass(frozen=True)
class Answer:
    """The hub's acknowledgement of one request: the data on success, or the refusal."""

    ok: bool
    data: dict[str, Any] = field(default_factory=dict)
    code: str | None = None
    message: str = ""

    @classmethod
    def unreachable(cls) -> Answer:
        """No answer: the hub could not be reached."""
        return cls(False, code=HUB_UNREACHABLE, message="no hub")

    @classmethod
    def refusal(cls, code: str, message: str) -> Answer:
        """Refused here, without asking the hub."""
        return cls(False, code=code, message=message)

    def read(self, model: type[N]) -> N | None:
        """The data as `model`, or None when refused or not what the protocol says."""
        if not self.ok:
            return None
        try:
            return model.read(self.data)
        except ValidationError as exc:
            log.warning("the hub answered in a form this appliance does not read: %s", exc)
            return None


class Hub(Protocol):
    """The hub link: sends a request and waits for its acknowledgement."""

    async def request(self, event: str, payload: Request) -> Answer:
        """Send `payload` as `event`; an unreachable hub gives Answer.unreachable()."""
        ...


Send = Callable[[str, Request], Awaitable[None]]


class CallMediaSession(Protocol):
    """One call's media (a peer connection); it reports changes through `changed`."""

    appointment: str
    media: CallMedia
    quality: Quality
    connected_since: float | None

    async def apply(self, signals: Sequence[ApplianceSignal]) -> None:
        """Apply the citizen's signals in order (an offer rebuilds the connection)."""
        ...

    def apply_soon(self, signals: Sequence[ApplianceSignal]) -> None:
        """Apply signals kept from before the call was held, in the background."""
        ...

    def lost(self) -> None:
        """The citizen's connection dropped: media is lost until a new offer."""
        ...

    async def resume(self) -> bool:
        """The citizen is back: keep the connection if their media still flows (and say so to
        the hub), else wait for their new offer. True if kept."""
        ...

    async def close(self) -> None:
        """Hang up: close the connection and stop its media."""
        ...


class Media(Protocol):
    """Opens calls' media sessions and closes the devices at the end."""

    def open_call(
        self,
        appointment: str,
        ice_servers: Sequence[IceServer],
        send: Send,
        changed: Callable[[], None],
    ) -> CallMediaSession:
        """A new media session for one call."""
        ...

    async def close(self) -> None:
        """Release the devices (let the speaker finish what it has)."""
        ...


@dataclass(frozen=True)
class FileDownload:
    """A document on its way from the hub: what it is, and its bytes in chunks."""

    name: str
    media_type: str
    chunks: AsyncIterator[bytes]


class Files(Protocol):
    """The hub's documents of an appointment (over HTTP: files do not go through Socket.IO)."""

    async def listing(self, appointment: str) -> Documents | None:
        """The files and checklist now (None when the hub cannot be asked)."""
        ...

    async def download(self, appointment: str, document: str) -> FileDownload | None:
        """One file (None when refused or the hub cannot be reached)."""
        ...

    async def upload(self, appointment: str, data: bytes, name: str, item: int | None) -> Answer:
        """Hand the citizen a file (a scan as PDF, a file from the operator's folders)."""
        ...

    async def review(self, appointment: str, document: str, accepted: bool, reason: str) -> Answer:
        """Accept a file, or ask for it again with a reason."""
        ...


class Scanner(Protocol):
    """The counter's scanner or document camera: pages captured and kept until sent."""

    async def capture(self) -> str:
        """Scan one page; its id (DeviceMissing or a timeout when the scanner fails)."""
        ...

    def preview(self, page: str, rotation: int) -> bytes:
        """A JPEG of one page as it would be sent (rotated by `rotation` degrees)."""
        ...

    async def pdf(self, pages: Sequence[tuple[str, int]]) -> bytes:
        """The pages, each with its rotation, as one PDF."""
        ...

    def discard(self, pages: Sequence[str]) -> None:
        """Forget pages (sent, removed or abandoned)."""
        ...


@dataclass(frozen=True)
class InboxFile:
    """A file the clerk can hand over as it is."""

    id: str
    name: str
    size: int
    modified: float  # unix time


class Inbox(Protocol):
    """Folders the operator names (the print folder, a USB stick)."""

    def listing(self) -> list[InboxFile]:
        """The newest files there."""
        ...

    def read(self, ident: str) -> tuple[str, bytes] | None:
        """A listed file's name and bytes (None when it is no longer there)."""
        ...


# What follows an answered action (the daemon's exit for a restart), or None.
AfterAnswer = Callable[[], Awaitable[None]] | None


@dataclass(frozen=True)
class Performed:
    """How a remote action went: its state and a line for IT, what to do once the hub has the
    answer (a restart), and the log lines IT asked for."""

    state: ActionState
    text: str
    after: AfterAnswer = None
    log: list[str] | None = None


class Performer(Protocol):
    """Carries out remote actions on this machine (appliance/actions.py): restart, reboot,
    settings, update, logs. `identify` is the core's own (the kiosk shows it)."""

    async def perform(self, action: Action) -> Performed:
        """Do it, or say why not."""
        ...

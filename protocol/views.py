"""How the hub shows a call, a wait, a lobby and a counter's day to the parties."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from protocol.base import News
from protocol.documents import Completeness
from protocol.limits import AppointmentId
from protocol.signalling import IceServer
from protocol.vocabulary import CallStateName, DeviceCheck, OutcomeName, WaitReason


class ServiceView(News):
    """A service with what the citizen should have ready (both languages). A service withdrawn
    from the catalogue since booking has its id as name and no documents."""

    id: str
    name_de: str
    name_en: str
    documents_de: list[str] = Field(default_factory=list)
    documents_en: list[str] = Field(default_factory=list)


class WaitView(News):
    """A citizen's place in the lobby and the estimate (`minutes` null: no estimate)."""

    position: int
    minutes: int | None
    reason: WaitReason


class CallView(News):
    """A call as the clerk's appliance sees it (times ISO 8601 in Europe/Berlin)."""

    appointment: AppointmentId
    state: CallStateName
    outcome: OutcomeName | None
    counter: int | None
    assigned_counter: int | None
    service: ServiceView
    start: str
    end: str
    name: str
    locale: str
    waiting_since: str | None
    device_check: DeviceCheck | None
    notes: str | None


class HeldCall(CallView):
    """A call the appliance holds, with the ICE servers for its peer connection."""

    ice_servers: list[IceServer] = Field(default_factory=list)

    def view(self) -> CallView:
        """The call without its ICE servers."""
        return CallView.model_validate(self.model_dump(exclude={"ice_servers"}))


class LobbyEntry(CallView):
    """A citizen in the lobby: the call, their wait, and how complete their documents are."""

    wait: WaitView | None
    documents: Completeness | None = None


class Lobby(News):
    """One counter's lobby: its own queue, and citizens whose counter has nobody online (this
    one may admit them; the earliest 20 are listed, `unattended_total` counts all)."""

    counter: int
    busy_until: str | None
    waiting: list[LobbyEntry]
    unattended: list[LobbyEntry]
    unattended_total: int

    def first_waiting(self) -> LobbyEntry | None:
        """Who would be admitted next: the counter's own queue first."""
        return next(iter(self.waiting or self.unattended), None)


class DayEntry(News):
    """One appointment of a counter's day; `may_close`: the citizen is 5 minutes late and not
    in the lobby, so the kiosk offers "did not come" (the hub decides by its own clock)."""

    appointment: AppointmentId
    service: ServiceView
    start: str
    end: str
    name: str
    locale: str
    cancelled: bool
    device_check: DeviceCheck | None
    state: CallStateName
    outcome: OutcomeName | None
    may_close: bool
    documents: Completeness | None = None  # of the service's checklist, before the call


def empty_as_none(value: Any) -> Any:
    """`{}` on the wire (no lobby yet) reads as None."""
    return None if value == {} else value


class NoLobby(BaseModel):
    """No lobby: `{}` (no clerk is signed in)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class WithLobby(News):
    """A message carrying a lobby that is `{}` until a clerk is signed in."""

    lobby: Lobby | None = None

    _no_lobby = field_validator("lobby", mode="before")(empty_as_none)

    # Annotated with what it returns, so the exported JSON Schema says "a lobby or {}".
    @field_serializer("lobby")
    def _lobby(self, lobby: Lobby | None) -> Lobby | NoLobby:
        return lobby if lobby is not None else NoLobby()

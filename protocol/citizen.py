"""The `/citizen` namespace: the page behind a join link, in the lobby and in the call."""

from __future__ import annotations

from typing import Any

from protocol.base import News
from protocol.limits import AppointmentId
from protocol.signalling import IceServer
from protocol.views import ServiceView, WaitView
from protocol.vocabulary import CallStateName, OutcomeName

NAMESPACE = "/citizen"


class Status(News):
    """The citizen's view of their call, on connect and whenever the call or the wait changes;
    `ice_servers` come once the call is under way."""

    state: CallStateName
    outcome: OutcomeName | None
    start: str
    end: str
    service: ServiceView
    wait: WaitView | None
    ice_servers: list[IceServer] | None = None

    def wire(self) -> dict[str, Any]:
        """Without `ice_servers` before the call is under way."""
        message = super().wire()
        if self.ice_servers is None:
            del message["ice_servers"]
        return message


class PeerNotice(News):
    """The other party left (`peer_left`) or came back (`peer_rejoined`: send a new offer)."""

    appointment: AppointmentId


class Replaced(News):
    """The same join link was opened elsewhere; this connection closes next."""

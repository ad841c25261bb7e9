"""The `/citizen` namespace: the page behind a join link, in the lobby and in the call."""

from __future__ import annotations

from protocol.base import News, absent_when_null
from protocol.limits import AppointmentId
from protocol.signalling import IceServer
from protocol.views import ServiceView, WaitView
from protocol.vocabulary import CallStateName, OutcomeName

NAMESPACE = "/citizen"


class Status(News):
    """The citizen's view of their call, on connect and whenever the call or the wait changes;
    `ice_servers` come once the call is under way (until then the field is left out)."""

    state: CallStateName
    outcome: OutcomeName | None
    start: str
    end: str
    service: ServiceView
    wait: WaitView | None
    ice_servers: list[IceServer] | None = absent_when_null()


class PeerNotice(News):
    """The other party left (`peer_left`) or came back (`peer_rejoined`: send a new offer)."""

    appointment: AppointmentId


class Replaced(News):
    """The same join link was opened elsewhere; this connection closes next."""

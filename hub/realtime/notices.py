"""What the hub tells the parties: call updates, the lobby, ICE servers. Rooms are named here.

Every message is built as its model from `protocol` and sent as `.wire()`, so what goes out is
what docs/protocol.md and the exported JSON Schema say. Emitting to a room reaches its members
in every hub process (through Redis when configured), so the process that saw a change tells
everyone concerned, wherever they are connected.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from flask import current_app

from hub.booking.catalogue import Service
from hub.booking.timezone import to_local_iso
from hub.calls.estimate import Wait
from hub.calls.ice import ice_servers
from hub.calls.lifecycle import ACTIVE, Event, State, may_close_as_no_show
from hub.context import hub_settings, now, store
from hub.operations import calls
from hub.operations import documents as files
from hub.operations.calls import Call
from protocol import appliance as appliance_protocol
from protocol import citizen as citizen_protocol
from protocol.appliance import Revoked
from protocol.base import News
from protocol.citizen import PeerNotice, Status
from protocol.documents import (
    CallDocuments,
    ChecklistItem,
    Completeness,
    Documents,
    DocumentView,
)
from protocol.signalling import IceServer, MediaRecorded
from protocol.views import CallView, DayEntry, HeldCall, Lobby, LobbyEntry, ServiceView, WaitView

CITIZEN = citizen_protocol.NAMESPACE
APPLIANCE = appliance_protocol.NAMESPACE


def citizen_room(appointment: uuid.UUID) -> str:
    """The citizen's connection(s) of one call."""
    return f"call:{appointment}:citizen"


def appliance_room(appointment: uuid.UUID) -> str:
    """The appliance holding one call."""
    return f"call:{appointment}:appliance"


def counter_room(counter_id: int) -> str:
    """Every appliance of one counter."""
    return f"counter:{counter_id}"


def _socketio() -> Any:
    # The app's SocketIO (Flask-SocketIO registers itself there): importing hub.realtime's
    # would make this module and the package import each other.
    return current_app.extensions["socketio"]


def registry() -> Any:
    """This process's realtime registry."""
    return current_app.extensions["realtime"]


def ice_servers_for(subject: str) -> list[dict[str, Any]]:
    """The configured ICE servers, with TURN credentials for `subject` that expire."""
    settings = hub_settings()
    return ice_servers(
        stun_urls=settings.stun_urls,
        turn_urls=settings.turn_urls,
        turn_secret=settings.turn_secret,
        subject=subject,
        now=now(),
        ttl=timedelta(minutes=settings.turn_ttl_minutes),
    )


def ice_for(appointment: uuid.UUID) -> list[IceServer]:
    """ICE servers for one call."""
    return [IceServer(**server) for server in ice_servers_for(str(appointment))]


def _service(service_id: str) -> ServiceView:
    service = store().catalogue().services.get(service_id)
    if service is None:  # withdrawn from the catalogue since booking
        return ServiceView(id=service_id, name_de=service_id, name_en=service_id)
    return _service_view(service)


# Views are frozen and a catalogue holds a few dozen services: a lobby of hundreds shares them.
@lru_cache(maxsize=256)
def _service_view(service: Service) -> ServiceView:
    return ServiceView(
        id=service.id,
        name_de=service.name_de,
        name_en=service.name_en,
        documents_de=list(service.documents_de),
        documents_en=list(service.documents_en),
    )


def _call_fields(call: Call) -> dict[str, Any]:
    """The fields of a call as the clerk's appliance sees it (CallView and its extensions)."""
    return {
        "appointment": str(call.appointment_id),
        "state": call.state.value,
        "outcome": call.outcome.value if call.outcome else None,
        "counter": call.counter_id,
        "assigned_counter": call.assigned_counter_id,
        "service": _service(call.service_id),
        "start": to_local_iso(call.start),
        "end": to_local_iso(call.end),
        "name": call.name,
        "locale": call.locale,
        "waiting_since": to_local_iso(call.waiting_since) if call.waiting_since else None,
        "device_check": call.device_check,
        "notes": call.notes,
    }


def call_view(call: Call) -> CallView:
    """A call as the clerk's appliance sees it."""
    return CallView(**_call_fields(call))


def held_call(call: Call) -> HeldCall:
    """A call the appliance holds, with the ICE servers for its peer connection."""
    return HeldCall(**_call_fields(call), ice_servers=ice_for(call.appointment_id))


def day_view(
    day: list[calls.Appointment],
    at: datetime,
    completeness: dict[uuid.UUID, tuple[int, int]] | None = None,
) -> list[DayEntry]:
    """A counter's day as its appliance shows it: booking, service (with what to bring),
    the call's state once anyone joined, whether it may be closed as a no-show, and how much
    of the checklist the citizen sent ahead."""
    complete = completeness or {}

    def state(a: calls.Appointment) -> State:
        return a.call.state if a.call else State.SCHEDULED

    return [
        DayEntry(
            appointment=str(a.appointment_id),
            service=_service(a.service_id),
            start=to_local_iso(a.start),
            end=to_local_iso(a.end),
            name=a.name,
            locale=a.locale,
            cancelled=a.cancelled,
            device_check=a.device_check,
            state=state(a).value,
            outcome=a.call.outcome.value if a.call and a.call.outcome else None,
            may_close=not a.cancelled and may_close_as_no_show(state(a), a.start, at),
            documents=_completeness(complete.get(a.appointment_id)),
        )
        for a in day
    ]


def wait_view(wait: Wait | None) -> WaitView | None:
    """A wait estimate as the citizen's page shows it."""
    if wait is None:
        return None
    return WaitView(position=wait.position, minutes=wait.minutes, reason=wait.reason.value)


def status(call: Call, wait: Wait | None = None) -> Status:
    """The citizen's view of their call; ICE servers come along once the call is under way."""
    return Status(
        state=call.state.value,
        outcome=call.outcome.value if call.outcome else None,
        start=to_local_iso(call.start),
        end=to_local_iso(call.end),
        service=_service(call.service_id),
        wait=wait_view(wait),
        ice_servers=ice_for(call.appointment_id) if call.state in ACTIVE else None,
    )


def send_after_connect(
    event: str,
    sid: str,
    message: News,
    namespace: str,
    then: Callable[[], None] | None = None,
) -> None:
    """Send `message` once the connect handler has returned, so the client has its connection
    (Socket.IO confirms it only then) before the first news arrives; `then` runs right after,
    for news that must not overtake this message."""
    sio = _socketio()
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # LocalProxy's

    def send() -> None:
        with app.app_context():
            sio.emit(event, message.wire(), to=sid, namespace=namespace)
            if then is not None:
                then()

    sio.start_background_task(send)


def tell_peer(event: str, call: Call, *, to_citizen: bool) -> None:
    """Tell one party that the other left (`peer_left`) or came back (`peer_rejoined`)."""
    appointment = call.appointment_id
    room, namespace = (
        (citizen_room(appointment), CITIZEN)
        if to_citizen
        else (appliance_room(appointment), APPLIANCE)
    )
    notice = PeerNotice(appointment=str(appointment)).wire()
    _socketio().emit(event, notice, to=room, namespace=namespace)


def tell(call: Call) -> None:
    """Tell both parties how their call stands now; an ended call's rooms are closed."""
    sio = _socketio()
    citizens, appliances = citizen_room(call.appointment_id), appliance_room(call.appointment_id)
    sio.emit("status", status(call).wire(), to=citizens, namespace=CITIZEN)
    sio.emit("call", call_view(call).wire(), to=appliances, namespace=APPLIANCE)
    if call.state is State.ENDED:
        sio.close_room(citizen_room(call.appointment_id), namespace=CITIZEN)
        sio.close_room(appliance_room(call.appointment_id), namespace=APPLIANCE)
    registry().lobby_changed()


# An appliance lists this many citizens of offline counters (the earliest first), plus a count.
UNATTENDED_SHOWN = 20


def lobby_view(
    lobby: calls.Lobby, counter_id: int, views: dict[uuid.UUID, LobbyEntry] | None = None
) -> Lobby:
    """The lobby as one counter's appliance sees it: its own queue, and citizens whose counter
    has nobody online (which it may take over). `views` caches entries across counters."""
    own, others = lobby.for_counter(counter_id)
    views = {} if views is None else views

    def entry(call: Call) -> LobbyEntry:
        view = views.get(call.appointment_id)
        if view is None:
            wait = wait_view(lobby.waits.get(call.appointment_id))
            view = views[call.appointment_id] = LobbyEntry(**_call_fields(call), wait=wait)
        return view

    busy_until = lobby.busy_until.get(counter_id)
    return Lobby(
        counter=counter_id,
        busy_until=to_local_iso(busy_until) if busy_until else None,
        waiting=[entry(c) for c in own],
        unattended=[entry(c) for c in others[:UNATTENDED_SHOWN]],
        unattended_total=len(others),
    )


def publish_lobby() -> None:
    """Send every online counter its lobby and every waiting citizen their place and estimate.

    Only what changed since this process last sent it goes out: with hundreds waiting, most
    rounds change a handful of estimates, and a citizen's message is built only then.
    """
    sio = _socketio()
    reg = registry()
    lobby = calls.lobby(store(), now(), reg.stale)
    views: dict[uuid.UUID, LobbyEntry] = {}
    sent: dict[str, Any] = {}
    for counter_id in lobby.online:
        room = counter_room(counter_id)
        sent[room] = lobby_view(lobby, counter_id, views)
        if reg.last_sent.get(room) != sent[room]:  # models compare by their fields
            sio.emit("lobby", sent[room].wire(), to=room, namespace=APPLIANCE)
    for call in lobby.waiting:
        room = citizen_room(call.appointment_id)
        wait = lobby.waits.get(call.appointment_id)
        sent[room] = (call.state, wait)
        if reg.last_sent.get(room) != sent[room]:
            sio.emit("status", status(call, wait).wire(), to=room, namespace=CITIZEN)
    reg.last_sent = sent


def lobby_for(counter_id: int) -> Lobby:
    """One counter's lobby, for an appliance that just connected."""
    return lobby_view(calls.lobby(store(), now(), registry().stale), counter_id)


def settle(changed: list[Call]) -> None:
    """Tell the parties of calls the presence sweep settled."""
    for call in changed:
        tell(call)


def drop_device(sid: str) -> None:
    """Close a revoked appliance's connection."""
    sio = _socketio()
    sio.emit("revoked", Revoked(reason="device revoked").wire(), to=sid, namespace=APPLIANCE)
    sio.server.disconnect(sid, namespace=APPLIANCE)


def record_media(
    appointment: uuid.UUID, state: str, device: tuple[int, int] | None, path: str | None = None
) -> dict[str, Any]:
    """Record a party's media state: connected starts (or restores) the call; `path` (direct
    or relayed) says whether its media goes through the TURN server."""
    event = Event.CONNECTED if state == "connected" else Event.LOST
    already = State.IN_CALL if event is Event.CONNECTED else State.RECONNECTING
    relayed = None if path is None else path == "relayed"
    call = calls.advance_unless(
        store(), appointment, event, already, now(), device=device, relayed=relayed
    )
    if call is None:  # already so: nothing to record
        return MediaRecorded(state=already.value).wire()
    tell(call)
    return MediaRecorded(state=call.state.value).wire()


def _completeness(pair: tuple[int, int] | None) -> Completeness | None:
    return None if pair is None else Completeness(done=pair[0], required=pair[1])


def documents_view(appointment: uuid.UUID) -> Documents:
    """An appointment's files and checklist as both parties see them."""
    return Documents(
        documents=[
            DocumentView(
                id=str(d.id),
                item=d.item,
                name=d.name,
                media_type=d.media_type,
                size=d.size,
                sender=d.sender,
                state=d.state,
                reason=d.reason,
                created_at=to_local_iso(d.created_at),
            )
            for d in files.documents(store(), appointment)
        ],
        checklist=[
            ChecklistItem(
                index=entry.index,
                name_de=entry.name_de,
                name_en=entry.name_en,
                state=entry.state,
                reason=entry.reason,
                documents=[str(d) for d in entry.document_ids],
            )
            for entry in files.checklist(store(), appointment)
        ],
    )


def tell_documents(appointment: uuid.UUID) -> None:
    """A file came in, was reviewed or deleted: tell both parties of the call (wherever they
    are connected), and the counter's day (its completeness changed)."""
    view = documents_view(appointment)
    sio = _socketio()
    sio.emit("documents", view.wire(), to=citizen_room(appointment), namespace=CITIZEN)
    to_appliance = CallDocuments(appointment=str(appointment), **view.model_dump())
    sio.emit("documents", to_appliance.wire(), to=appliance_room(appointment), namespace=APPLIANCE)
    store().day_changed(calls.counters_of(store(), appointment))

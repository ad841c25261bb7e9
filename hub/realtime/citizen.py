"""The /citizen namespace: the page behind a join link, in the lobby and in the call."""

from __future__ import annotations

import logging
import uuid
from typing import Any, cast

from flask import current_app
from flask_socketio import join_room

from hub.booking.timezone import to_local_iso
from hub.calls.lifecycle import ACTIVE, Event, Outcome, State
from hub.calls.window import Refusal
from hub.context import now, store
from hub.operations import calls
from hub.operations.calls import CallRefused
from hub.realtime.guard import (
    ConnectionRefusedError,
    GuardedNamespace,
    current_sid,
    parse,
    refuse,
)
from hub.realtime.notices import (
    APPLIANCE,
    CITIZEN,
    appliance_room,
    citizen_room,
    publish_lobby,
    record_media,
    registry,
    send_after_connect,
    status,
    tell,
    tell_peer,
)
from protocol.base import Empty, Ok
from protocol.citizen import Replaced
from protocol.signalling import Media, Signal

log = logging.getLogger("hub.realtime")


class CitizenNamespace(GuardedNamespace):
    """Connect with `auth: {"join": <join token>}`; see docs/protocol.md."""

    def on_connect(self, auth: Any = None) -> None:
        """Enter the lobby, or rejoin a call under way."""
        reg = registry()
        reg.start(publish_lobby)
        token = auth.get("join") if isinstance(auth, dict) else None
        try:
            joined = calls.citizen_join(store(), token, current_sid(), now(), reg.window)
        except CallRefused as exc:
            detail: dict[str, Any] = {"code": exc.code, "message": str(exc)}
            if exc.code == Refusal.TOO_EARLY:
                detail["opens_at"] = self._opens_at(cast(str, token))  # too early: a valid link
            refuse(exc.code, str(exc))
            raise ConnectionRefusedError(str(exc), detail) from None
        call = joined.call
        reg.add(current_sid(), appointment=call.appointment_id, admitted=call.state in ACTIVE)
        join_room(citizen_room(call.appointment_id))
        sio = self.socketio
        if joined.replaced:
            # The same link opened elsewhere (a reload, a second tab): the newest page wins.
            sio.emit("replaced", Replaced().wire(), to=joined.replaced, namespace=CITIZEN)
            sio.server.disconnect(joined.replaced, namespace=CITIZEN)
        sid = current_sid()
        wait = None
        if call.state is State.WAITING:
            queue = calls.lobby(store(), now(), reg.stale, call.counter_id)
            wait = queue.waits.get(call.appointment_id)
        first = status(call, wait)
        send_after_connect("status", sid, first, CITIZEN)
        if joined.rejoined:
            tell_peer("peer_rejoined", call, to_citizen=False)
        reg.lobby_changed()

    def _opens_at(self, token: str) -> str | None:
        start = calls.start_of(store(), token)
        return to_local_iso(registry().window.opens(start)) if start else None

    def on_disconnect(self, reason: Any = None) -> None:
        """The page closed or lost its network: leave the lobby, or let the call wait."""
        conn = registry().remove(current_sid())
        if conn is None or conn.appointment is None:
            return
        call = calls.citizen_left(store(), conn.appointment, current_sid(), now())
        if call is None:
            return
        if call.state is State.RECONNECTING:
            tell_peer("peer_left", call, to_citizen=False)
        tell(call)

    def _admitted(self) -> tuple[Any, uuid.UUID]:
        conn = registry().connections[current_sid()]
        if not conn.admitted:
            call = calls.current_call(store(), conn.appointment)
            if call is None or call.state not in ACTIVE:
                raise CallRefused("not_admitted", "wait until the clerk admits you")
            conn.admitted = True
        return conn, conn.appointment

    def on_signal(self, data: Any = None) -> dict[str, Any]:
        """Relay an offer, answer or candidate to the appliance holding this call."""
        signal = parse(Signal, data)
        conn, appointment = self._admitted()
        self.socketio.emit(
            "signal",
            {"appointment": str(appointment), **signal.relayed()},
            to=appliance_room(appointment),
            namespace=APPLIANCE,
        )
        current_app.extensions["metrics"].relayed.labels("citizen").inc()
        if signal.type == "offer" and not conn.offered:
            conn.offered = True
            call = calls.advance_from(store(), appointment, State.ADMITTED, Event.OFFER, now())
            if call is not None:
                tell(call)
        return Ok().wire()

    def on_media(self, data: Any = None) -> dict[str, Any]:
        """The page's peer connection connected or lost its media."""
        media = parse(Media, data)
        _, appointment = self._admitted()
        return record_media(appointment, media.state, None, media.path)

    def on_hangup(self, data: Any = None) -> dict[str, Any]:
        """The citizen ends the call."""
        parse(Empty, data)
        _, appointment = self._admitted()
        tell(calls.advance(store(), appointment, Event.END, now(), Outcome.DONE))
        return Ok().wire()

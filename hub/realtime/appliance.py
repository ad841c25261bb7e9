"""The /appliance namespace: a counter appliance, acting for the clerk signed in at it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from flask import current_app
from flask_socketio import join_room, leave_room

from hub.booking.timezone import local_date, start_of_local_day
from hub.calls.lifecycle import Event, Outcome, State
from hub.context import hub_settings, now, store
from hub.fleet.enrolment import issue_access
from hub.operations import accounts, calls, fleet, remote
from hub.operations import documents as files
from hub.operations.calls import CallRefused
from hub.operations.enrolment import access_ttl, authenticate_access, key_of
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
    call_view,
    citizen_room,
    counter_room,
    day_view,
    held_call,
    lobby_for,
    publish_lobby,
    record_media,
    registry,
    send_after_connect,
    tell,
    tell_peer,
)
from hub.realtime.payments import by_mail, cancel, listed, request
from hub.realtime.registry import Connection
from protocol.appliance import (
    ActionResult,
    Admitted,
    CallDone,
    CallRef,
    Clerk,
    Counter,
    Day,
    Device,
    End,
    Heartbeat,
    HeartbeatAck,
    Hello,
    Record,
    SignedIn,
    SignIn,
)
from protocol.base import Empty, Ok
from protocol.enrolment import TokenRenewed
from protocol.limits import SUPPORTED_VERSIONS, VERSION
from protocol.payments import OnPayment, RequestPayment
from protocol.signalling import ApplianceMedia, ApplianceSignal


class ApplianceNamespace(GuardedNamespace):
    """Connect with `auth: {"access_token": <from /api/v1/device/token>, "clerk_session":
    <token, optional>, "protocol": <version, 1 if absent>}`; an appliance added with `buergeramt
    devices add` sends `"device": <credential>` instead (legacy, docs/enrolment.md)."""

    def on_connect(self, auth: Any = None) -> None:
        """Authenticate the device, resume its clerk's session, and hand it its current call."""
        reg = registry()
        reg.start(publish_lobby)
        auth = auth if isinstance(auth, dict) else {}
        _check_version(auth.get("protocol", 1))
        device = _authenticate(auth)
        if device is None:
            refuse("unknown_device", "unknown or revoked device credential")
            raise ConnectionRefusedError(
                "unknown or revoked device",
                {"code": "unknown_device", "message": "unknown or revoked device credential"},
            )
        token = auth.get("clerk_session")
        clerk = accounts.resume(store(), device.id, token, now()) if token else None
        sid = current_sid()
        replaced, call = calls.device_connected(store(), device.id, sid, now())
        # Before this connection is registered: a database error here refuses it whole.
        remote.send_again(store(), device.id, now())  # the `actions` job sends them after hello
        conn = reg.add(sid, device=device, clerk=clerk, clerk_token=token if clerk else None)
        if clerk is not None:  # the lobby names citizens: only for a signed-in clerk
            join_room(counter_room(device.counter_id))
        if replaced:
            self.socketio.server.disconnect(replaced, namespace=APPLIANCE)
        rejoined: Callable[[], None] | None = None
        if call is not None:
            conn.calls.add(call.appointment_id)
            join_room(appliance_room(call.appointment_id))
            if call.state is State.RECONNECTING:
                # Told only after `hello`: the citizen answers with a fresh offer, which must
                # not reach the appliance before it knows it holds the call again.
                rejoined = partial(tell_peer, "peer_rejoined", call, to_citizen=True)
        hello = Hello(
            protocol=VERSION,
            device=Device(id=device.id, name=device.name, counter=device.counter_id),
            counter=Counter(id=device.counter_id, name=device.counter_name),
            clerk=_clerk(conn),
            call=held_call(call) if call else None,
            lobby=lobby_for(device.counter_id) if clerk else None,  # None: `{}` on the wire
        )
        send_after_connect("hello", sid, hello, APPLIANCE, then=rejoined)
        reg.lobby_changed()

    def on_disconnect(self, reason: Any = None) -> None:
        """The appliance went away: its call (if any) waits for it to come back."""
        conn = registry().remove(current_sid())
        if conn is None or conn.device is None:
            return
        call = calls.device_disconnected(store(), conn.appliance.id, current_sid(), now())
        if call is not None:
            tell_peer("peer_left", call, to_citizen=True)
            tell(call)
        registry().lobby_changed()

    def _conn(self) -> Connection:
        return registry().connections[current_sid()]

    def _clerk_conn(self) -> Connection:
        """This connection, if a clerk is signed in at it; the device credential alone may
        neither read names nor close appointments."""
        conn = self._conn()
        if conn.clerk is None:
            raise CallRefused("not_signed_in", "a clerk must sign in first")
        return conn

    def on_sign_in(self, data: Any = None) -> dict[str, Any]:
        """A clerk signs in at this appliance; the session token survives reconnects."""
        form = parse(SignIn, data)
        conn = self._conn()
        ttl = timedelta(hours=hub_settings().clerk_session_hours)
        device_id = conn.appliance.id
        signed = accounts.sign_in(store(), device_id, form.username, form.password, now(), ttl)
        if signed is None:
            return refuse("sign_in_failed", "wrong user name or password")
        conn.clerk, conn.clerk_token = signed
        join_room(counter_room(conn.appliance.counter_id))
        return SignedIn(
            clerk=_signed_in(conn),
            session=signed[1],
            lobby=lobby_for(conn.appliance.counter_id),
        ).wire()

    def on_sign_out(self, data: Any = None) -> dict[str, Any]:
        """The clerk signs out; calls under way go on, but nobody new is admitted."""
        parse(Empty, data)
        conn = self._conn()
        if conn.clerk_token:
            accounts.sign_out(store(), conn.clerk_token, now())
        conn.clerk, conn.clerk_token = None, None
        leave_room(counter_room(conn.appliance.counter_id))
        return Ok().wire()

    def on_token_renew(self, data: Any = None) -> dict[str, Any]:
        """A fresh access token over the live connection, for an appliance enrolled by key."""
        parse(Empty, data)
        device_id = self._conn().appliance.id
        fingerprint = key_of(store(), device_id)
        if fingerprint is None:
            return refuse("not_key_enrolled", "this appliance holds a credential, not a key")
        settings = hub_settings()
        ttl = access_ttl(settings.device_token_minutes)
        token = issue_access(settings.effective_secret_key(), device_id, fingerprint, now(), ttl)
        return TokenRenewed(access_token=token, expires_in=int(ttl.total_seconds())).wire()

    def on_admit(self, data: Any = None) -> dict[str, Any]:
        """Let a waiting citizen in; both sides get the ICE servers."""
        ref = parse(CallRef, data)
        conn = self._clerk_conn()
        appointment = uuid.UUID(ref.appointment)
        call = calls.admit(
            store(),
            appointment,
            conn.appliance.id,
            conn.appliance.counter_id,
            conn.signed_in.id,
            now(),
            registry().stale,
        )
        conn.calls.add(appointment)
        join_room(appliance_room(appointment))
        tell(call)
        return Admitted(call=held_call(call)).wire()

    def _held(self, appointment: str) -> uuid.UUID:
        key = uuid.UUID(appointment)
        if key not in self._conn().calls:
            raise CallRefused("not_your_call", "this appliance does not hold that call")
        return key

    def on_signal(self, data: Any = None) -> dict[str, Any]:
        """Relay an answer, offer or candidate to the citizen of a call this appliance holds."""
        signal = parse(ApplianceSignal, data)
        appointment = self._held(signal.appointment)
        self.socketio.emit(
            "signal", signal.relayed(), to=citizen_room(appointment), namespace=CITIZEN
        )
        current_app.extensions["metrics"].relayed.labels("appliance").inc()
        return Ok().wire()

    def on_media(self, data: Any = None) -> dict[str, Any]:
        """The appliance's peer connection connected or lost its media."""
        media = parse(ApplianceMedia, data)
        device = self._conn().appliance
        appointment = self._held(media.appointment)
        return record_media(appointment, media.state, (device.id, device.counter_id), media.path)

    def on_end(self, data: Any = None) -> dict[str, Any]:
        """End a call: done, or the citizen did not come (also for calls nobody joined)."""
        end = parse(End, data)
        appointment = uuid.UUID(end.appointment)
        # Hanging up a call it holds needs no clerk (one may have signed out mid-call).
        conn = self._conn() if appointment in self._conn().calls else self._clerk_conn()
        device = (conn.appliance.id, conn.appliance.counter_id)
        call = calls.advance(store(), appointment, Event.END, now(), Outcome(end.outcome), device)
        conn.calls.discard(appointment)
        leave_room(appliance_room(appointment))
        tell(call)
        return CallDone(call=call_view(call)).wire()

    def on_record(self, data: Any = None) -> dict[str, Any]:
        """After hanging up: the outcome in one tap, with the clerk's notes (may be corrected)."""
        record = parse(Record, data)
        conn = self._clerk_conn()
        call = calls.record_outcome(
            store(),
            uuid.UUID(record.appointment),
            Outcome(record.outcome),
            record.notes.strip(),
            now(),
            conn.appliance.id,
        )
        return CallDone(call=call_view(call)).wire()

    def on_day(self, data: Any = None) -> dict[str, Any]:
        """Today's appointments at this appliance's counter (Berlin's calendar day)."""
        parse(Empty, data)
        counter = self._clerk_conn().appliance.counter_id
        today = local_date(now())
        start = start_of_local_day(today)
        end = start_of_local_day(today + timedelta(days=1))
        day = calls.day(store(), counter, start, end)
        complete = files.completeness(store(), [a.appointment_id for a in day])
        return Day(day=day_view(day, now(), complete)).wire()

    def on_heartbeat(self, data: Any = None) -> dict[str, Any]:
        """The appliance's health for IT's fleet view; the last one per device is kept."""
        beat = parse(Heartbeat, data)
        received = now()
        fleet.record_heartbeat(store(), self._conn().appliance.id, beat, received)
        return HeartbeatAck(time=received.isoformat()).wire()

    def on_action_result(self, data: Any = None) -> dict[str, Any]:
        """How a remote action went (waiting for the call to end, done, failed)."""
        answer = parse(ActionResult, data)
        if not remote.record_result(store(), self._conn().appliance.id, answer, now()):
            return refuse("unknown_action", "no open action of this appliance has that id")
        return Ok().wire()

    def on_payment_list(self, data: Any = None) -> dict[str, Any]:
        """The fee items and payment requests of a held call."""
        ref = parse(CallRef, data)
        return listed(self._held(ref.appointment))

    def on_payment_request(self, data: Any = None) -> dict[str, Any]:
        """The clerk asks the citizen of a held call to pay fee items (priced here)."""
        wanted = parse(RequestPayment, data)
        clerk = self._clerk_conn().signed_in.id
        return request(self._held(wanted.appointment), wanted.lines, clerk)

    def on_payment_cancel(self, data: Any = None) -> dict[str, Any]:
        """The clerk withdraws an unpaid request of a held call."""
        ref = parse(OnPayment, data)
        clerk = self._clerk_conn().signed_in.id
        return cancel(self._held(ref.appointment), uuid.UUID(ref.payment), clerk)

    def on_payment_mail(self, data: Any = None) -> dict[str, Any]:
        """Pay later: the request's lines again, as a link by e-mail."""
        ref = parse(OnPayment, data)
        clerk = self._clerk_conn().signed_in.id
        return by_mail(self._held(ref.appointment), uuid.UUID(ref.payment), clerk)


def _authenticate(auth: dict[str, Any]) -> accounts.Device | None:
    """The device an access token (or, legacy, a device credential) stands for."""
    if "access_token" in auth:
        secret = hub_settings().effective_secret_key()
        return authenticate_access(store(), secret, auth["access_token"], now())
    return accounts.authenticate_device(store(), auth.get("device", ""))


def _check_version(version: Any) -> None:
    """Refuse an appliance that speaks a protocol this hub cannot (`unsupported_protocol`)."""
    if type(version) is int and version in SUPPORTED_VERSIONS:  # not True, not 1.0, not "1"
        return
    supported = sorted(SUPPORTED_VERSIONS)
    message = f"protocol {str(version)[:16]} not supported; this hub speaks {supported}"
    refuse("unsupported_protocol", message)
    raise ConnectionRefusedError(
        message, {"code": "unsupported_protocol", "message": message, "supported": supported}
    )


def _signed_in(conn: Connection) -> Clerk:
    clerk = conn.signed_in
    return Clerk(id=clerk.id, username=clerk.username, name=clerk.display_name)


def _clerk(conn: Connection) -> Clerk | None:
    return _signed_in(conn) if conn.clerk is not None else None

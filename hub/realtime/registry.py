"""This process's side of the realtime channel: its connections, and the rounds that keep the
shared database's picture of who is online true and the lobby up to date (run by hub.jobs)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from hub.calls.window import JoinWindow
from hub.operations import calls
from hub.operations.accounts import Clerk, Device
from hub.realtime.guard import TokenBucket

if TYPE_CHECKING:
    from flask import Flask
    from flask_socketio import SocketIO

log = logging.getLogger("hub.realtime")


@dataclass
class Connection:
    """One Socket.IO connection: a citizen in one call, or an appliance (and its clerk)."""

    sid: str
    bucket: TokenBucket
    appointment: uuid.UUID | None = None  # citizen: the call the join link opened
    admitted: bool = False  # citizen: may signal (the call is under way)
    offered: bool = False  # citizen: the first offer was recorded
    device: Device | None = None  # appliance
    clerk: Clerk | None = None
    clerk_token: str | None = None
    calls: set[uuid.UUID] = field(default_factory=set)  # appliance: calls it holds

    @property
    def appliance(self) -> Device:
        """An appliance connection's device (a citizen's connection has none)."""
        if self.device is None:
            raise LookupError(f"connection {self.sid} is not an appliance")
        return self.device

    @property
    def signed_in(self) -> Clerk:
        """The clerk signed in at this appliance (check `clerk` first)."""
        if self.clerk is None:
            raise LookupError(f"no clerk signed in at connection {self.sid}")
        return self.clerk


class Registry:
    """Per hub process: connections by sid; the first connection starts the realtime jobs."""

    def __init__(self, app: Flask, socketio: SocketIO) -> None:
        self.app = app
        self.socketio = socketio
        settings = app.extensions["settings"]
        self.settings = settings
        self.window = JoinWindow(
            timedelta(minutes=settings.join_before_minutes),
            timedelta(minutes=settings.join_grace_minutes),
        )
        self.stale = timedelta(seconds=3 * settings.presence_seconds)
        self.grace = timedelta(seconds=settings.reconnect_grace_seconds)
        self.connections: dict[str, Connection] = {}
        self.last_sent: dict[str, Any] = {}  # lobby messages this process sent last, by room
        self._publish: Callable[[], None] = lambda: None

    def bucket(self, sid: str) -> TokenBucket | None:
        """The rate bucket of a live connection (None: not connected here)."""
        conn = self.connections.get(sid)
        return conn.bucket if conn else None

    def add(self, sid: str, **fields: Any) -> Connection:
        """Register a new connection."""
        conn = Connection(
            sid,
            TokenBucket(self.settings.signal_rate_per_second, self.settings.signal_burst),
            **fields,
        )
        self.connections[sid] = conn
        role = "appliance" if conn.device else "citizen"
        self.app.extensions["metrics"].connections.labels(role).inc()
        return conn

    def remove(self, sid: str) -> Connection | None:
        """Forget a closed connection."""
        conn = self.connections.pop(sid, None)
        if conn is not None:
            role = "appliance" if conn.device else "citizen"
            self.app.extensions["metrics"].connections.labels(role).dec()
        return conn

    def start(self, publish: Callable[[], None]) -> None:
        """Start the realtime jobs (once per process); `publish` sends the lobby."""
        from hub.jobs import REALTIME, runner

        self._publish = publish
        runner(self.app).start(*REALTIME)

    def lobby_changed(self) -> None:
        """Ask for a lobby broadcast; changes within a moment are sent together."""
        from hub.jobs import runner

        runner(self.app).wake("lobby")

    def payments_changed(
        self, appointments: Collection[uuid.UUID], receipted: Collection[uuid.UUID] = ()
    ) -> None:
        """Tell both parties of these calls that their payment requests changed, and those of
        `receipted` that a receipt came into their documents too (run by the payments jobs)."""
        from hub.realtime.notices import tell_documents
        from hub.realtime.payments import tell_payments

        for appointment in receipted:
            tell_documents(appointment)
        for appointment in {*appointments, *receipted}:
            tell_payments(appointment)

    def day_changed(self, counters: Collection[int]) -> None:
        """Tell the signed-in appliances of `counters` that their day changed (see the Store's
        hook). Through the message queue when there is one; never fails the change itself."""
        from hub.realtime.notices import APPLIANCE, counter_room
        from protocol.appliance import DayChanged

        for counter_id in sorted(set(counters)):
            try:
                self.socketio.emit(
                    "day_changed",
                    DayChanged(counter=counter_id).wire(),
                    to=counter_room(counter_id),
                    namespace=APPLIANCE,
                )
            except Exception:  # the change is committed; the appliance refetches within 60 s
                log.exception("day_changed for counter %s not sent", counter_id)

    def publish_lobby(self) -> None:
        """Send the lobby as it stands (the `lobby` job)."""
        self._publish()

    def drop_revoked(self) -> None:
        """Close the connections of appliances whose device was revoked (the `revocations` job)."""
        from hub.realtime.notices import drop_device

        devices = {c.appliance.id: c.sid for c in self._appliances()}
        for device_id in calls.revoked(self.app.extensions["store"], devices):
            drop_device(devices[device_id])

    def send_actions(self) -> None:
        """Send the remote actions IT asked of appliances connected here (the `actions` job)."""
        from hub.operations.remote import take_requested
        from hub.realtime.notices import APPLIANCE

        store, now = self.app.extensions["store"], self.app.extensions["clock"]()
        devices = {c.appliance.id: c.sid for c in self._appliances()}
        for action in take_requested(store, devices, now):
            self.socketio.emit(
                "action", action.message().wire(), to=devices[action.device_id], namespace=APPLIANCE
            )

    def keep_presence(self) -> None:
        """Tell the shared database who is connected here, and settle the calls whose party
        vanished, here or with a dead process (the `presence` job)."""
        from hub.realtime.notices import settle

        store, now = self.app.extensions["store"], self.app.extensions["clock"]()
        devices = {c.appliance.id: c.sid for c in self._appliances()}
        citizens = [c.sid for c in list(self.connections.values()) if c.appointment]
        calls.heartbeat(store, devices, citizens, now)
        settle(calls.sweep(store, now, self.stale, self.grace, self.window))

    def _appliances(self) -> list[Connection]:
        return [c for c in list(self.connections.values()) if c.device is not None]

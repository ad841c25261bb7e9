"""Real python-socketio clients for realtime tests: a citizen page and a counter appliance."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import socketio

from hub.booking.tokens import join_token_for
from hub.operations import accounts
from hub.operations.booking import BookingRequest, book
from hub.store import Store

PASSWORD = "schalter-geheim-1"


class Party:
    """One Socket.IO client on one namespace that keeps every event it receives."""

    def __init__(
        self,
        url: str,
        namespace: str,
        auth: dict[str, Any],
        reconnection: bool = False,
        **headers: str,
    ) -> None:
        self.url, self.namespace, self.auth, self.headers = url, namespace, auth, headers
        self.client = socketio.Client(
            reconnection=reconnection, reconnection_delay=0.2, reconnection_delay_max=1
        )
        self.inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.seen: list[tuple[str, Any]] = []
        self.refusal: Any = None
        self.disconnected = threading.Event()
        self.client.on("*", self._record, namespace=namespace)
        self.client.on("connect_error", self._refused, namespace=namespace)
        self.client.on("disconnect", lambda *_: self.disconnected.set(), namespace=namespace)

    def _record(self, event: str, data: Any = None) -> None:
        self.inbox.put((event, data))

    def _refused(self, data: Any = None) -> None:
        self.refusal = data

    def _connect(self, wait: bool) -> None:
        self.client.connect(
            self.url,
            namespaces=[self.namespace],
            auth=self.auth,
            transports=["websocket"],
            headers=self.headers,
            wait=wait,
            wait_timeout=10,
        )

    def connect(self) -> Party:
        """Connect over WebSocket; raises socketio.exceptions.ConnectionError when refused."""
        self._connect(wait=True)
        return self

    def refused(self, timeout: float = 10) -> Any:
        """Try to connect and return the hub's refusal ({"code", "message", ...}), or None."""
        self.connected = threading.Event()
        self.client.on("connect", self.connected.set, namespace=self.namespace)
        self._connect(wait=False)
        deadline = time.monotonic() + timeout
        while self.refusal is None and not self.connected.is_set():
            assert time.monotonic() < deadline, "neither connected nor refused"
            time.sleep(0.01)
        self.close()
        return self.refusal["data"] if self.refusal else None

    def call(self, event: str, data: Any = None, timeout: float = 10) -> Any:
        """Emit an event and wait for its acknowledgement."""
        return self.client.call(event, data, namespace=self.namespace, timeout=timeout)

    def next(self, event: str, timeout: float = 10, **expect: Any) -> Any:
        """The next `event` whose payload has the `expect`ed fields; others are kept in `seen`."""
        deadline = time.monotonic() + timeout
        for i, (name, data) in enumerate(self.seen):
            if name == event and _matches(data, expect):
                del self.seen[i]
                return data
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {event} {expect} within {timeout}s; saw {self.seen}")
            try:
                name, data = self.inbox.get(timeout=remaining)
            except queue.Empty:
                continue
            if name == event and _matches(data, expect):
                return data
            self.seen.append((name, data))

    def close(self) -> None:
        """Disconnect without waiting (the WebSocket close handshake can take seconds)."""
        threading.Thread(target=self.client.disconnect, daemon=True).start()


def _matches(data: Any, expect: dict[str, Any]) -> bool:
    return all(isinstance(data, dict) and data.get(k) == v for k, v in expect.items())


@dataclass
class Desk:
    """What a realtime test needs: appliances for every counter, a clerk, a way to book."""

    store: Store
    credentials: dict[int, str]  # counter id -> device credential
    device_ids: dict[int, int]
    now: datetime

    def book(self, start: datetime, n: int = 0, service: str = "meldebescheinigung") -> Booking:
        """Book an appointment at `start` and return it with its join token."""
        request = BookingRequest(service, start, f"Person {n}", f"person{n}@example.org")
        booked = book(self.store, self.store_policy, self.now, request)
        appointment = booked.appointment
        counter = self.counter_of(appointment.id)
        return Booking(
            appointment.id, join_token_for(booked.manage_token), counter, booked.manage_token
        )

    @property
    def store_policy(self) -> Any:
        from hub.booking.rules import BookingPolicy

        return BookingPolicy(timedelta(minutes=0), timedelta(days=56), timedelta(minutes=15))

    def counter_of(self, appointment_id: Any) -> int:
        from hub.store.models import AppointmentRow

        with self.store.transaction() as session:
            return session.get(AppointmentRow, appointment_id).counter_id


@dataclass(frozen=True)
class Booking:
    """An appointment as a test holds it."""

    id: Any
    join_token: str
    counter: int
    manage_token: str


def make_desk(store: Store, now: datetime) -> Desk:
    """A device for each counter and a clerk account `clerk` with PASSWORD."""
    from sqlalchemy import select

    from hub.store.models import CounterRow

    credentials, device_ids = {}, {}
    with store.transaction() as session:
        counters = list(session.scalars(select(CounterRow.id).order_by(CounterRow.id)))
    for counter in counters:
        device, credential = accounts.add_device(store, counter, "", now)
        credentials[counter], device_ids[counter] = credential, device.id
    accounts.add_user(store, "clerk", PASSWORD, "clerk", now, "Frau Schmidt")
    accounts.add_user(store, "clerk2", PASSWORD, "clerk", now, "Herr Weber")
    return Desk(store, credentials, device_ids, now)


def citizen(url: str, token: str, reconnection: bool = False, **headers: str) -> Party:
    """A citizen's page holding a join link."""
    return Party(url, "/citizen", {"join": token}, reconnection, **headers)


def appliance(
    url: str, credential: str, clerk_session: str | None = None, reconnection: bool = False
) -> Party:
    """A counter appliance with its device credential."""
    auth = {"device": credential}
    if clerk_session:
        auth["clerk_session"] = clerk_session
    return Party(url, "/appliance", auth, reconnection)


def signed_in(party: Party, username: str = "clerk") -> str:
    """Sign the clerk in at an appliance; returns the session token."""
    reply = party.call("sign_in", {"username": username, "password": PASSWORD})
    assert reply["ok"], reply
    return reply["session"]

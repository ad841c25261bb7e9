"""Bound the Engine.IO sessions that have not (yet) connected a Socket.IO namespace.

An Engine.IO handshake costs no credential: one GET creates a session (a queue, a socket
object, ~14 KB) that python-engineio keeps until its ping timeout, 45 s later. A flood of 40,000
handshakes in 10 s took a hub from 146 to 696 MB. Every real client connects its namespace
(/citizen or /appliance, where the token or credential is checked) right after the handshake,
so a session still without a namespace after `expire_seconds` is closed, and new handshakes are
answered 429 while one address holds `per_address` such sessions, 503 while all addresses
together hold `total`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger("hub.realtime")

ADDRESS_KEY = "buergeramt.client_address"


def client_address(environ: dict[str, Any], trusted_proxies: int) -> str:
    """The client's address, as werkzeug's ProxyFix would see it (Engine.IO's requests do not
    pass through the ProxyFix that wraps the Flask app)."""
    if trusted_proxies:
        forwarded = [a.strip() for a in environ.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= trusted_proxies:
            return forwarded[-trusted_proxies]
    return str(environ.get("REMOTE_ADDR", "?"))


class HandshakeLimiter:
    """WSGI middleware in front of Socket.IO plus hooks on its Engine.IO server.

    The middleware refuses handshakes over the limits before Engine.IO allocates anything; the
    Engine.IO connect/disconnect hooks track which sessions are pending; `sweep` (run every
    second by `run`) closes the ones that stayed pending too long.
    """

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        server: Any,
        *,
        per_address: int,
        total: int,
        expire_seconds: float,
        trusted_proxies: int,
        on_refusal: Callable[[str], None],
        path: str = "/socket.io/",
    ) -> None:
        self.app = app
        self.server = server  # python-socketio's Server; .eio is python-engineio's
        self.per_address = per_address
        self.total = total
        self.expire_seconds = expire_seconds
        self.trusted_proxies = trusted_proxies
        self.on_refusal = on_refusal
        self.path = path
        # eio sid -> (started, address), oldest first (dicts keep insertion order).
        self.pending: dict[str, tuple[float, str]] = {}
        self.by_address: dict[str, set[str]] = {}
        self._last_full_prune = 0.0
        self._sweeping = False
        eio = server.eio
        connect, disconnect = eio.handlers["connect"], eio.handlers["disconnect"]

        def on_connect(sid: str, environ: dict[str, Any], *args: Any) -> Any:
            self._track(sid, environ.get(ADDRESS_KEY) or client_address(environ, 0))
            return connect(sid, environ, *args)

        def on_disconnect(sid: str, *args: Any) -> Any:
            self._forget(sid)
            return disconnect(sid, *args)

        eio.on("connect", on_connect)
        eio.on("disconnect", on_disconnect)
        eio.disconnect = self._disconnect_without_waiting(eio.disconnect)

    def _disconnect_without_waiting(self, disconnect: Callable[..., Any]) -> Callable[..., Any]:
        """Engine.IO's disconnect waits until the session's queue is drained; a polling session
        that is never polled again never drains it. A POST of a packet Engine.IO does not expect
        ("6") made it disconnect that way: the request hung for good, one greenlet and one
        connection each. Polling sessions are closed without waiting (a poll in flight still
        receives the close packet); WebSockets, whose writer drains the queue, as before."""
        eio = self.server.eio

        def disconnect_sid(sid: str | None = None) -> None:
            socket = eio.sockets.get(sid) if sid is not None else None
            if socket is None or socket.upgraded:
                return disconnect(sid)
            socket.close(wait=False)
            eio.sockets.pop(sid, None)
            return None

        return disconnect_sid

    # -- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Refuse a new handshake over the limits; pass everything else on."""
        if environ.get("PATH_INFO", "").startswith(self.path) and "sid=" not in environ.get(
            "QUERY_STRING", ""
        ):
            address = client_address(environ, self.trusted_proxies)
            environ[ADDRESS_KEY] = address
            refusal = self._refusal(address)
            if refusal is not None:
                status, reason = refusal
                self.on_refusal(reason)
                start_response(
                    status,
                    [("Content-Type", "text/plain; charset=utf-8"), ("Retry-After", "5")],
                )
                return [f"{reason}\n".encode()]
        return self.app(environ, start_response)

    def _refusal(self, address: str) -> tuple[str, str] | None:
        if len(self.by_address.get(address, ())) >= self.per_address:
            self._prune(list(self.by_address.get(address, ())))
            if len(self.by_address.get(address, ())) >= self.per_address:
                return "429 Too Many Requests", "too_many_handshakes"
        if len(self.pending) >= self.total:
            now = time.monotonic()
            if now - self._last_full_prune >= 1.0:  # a full pass at most once a second
                self._last_full_prune = now
                self._prune(list(self.pending))
            if len(self.pending) >= self.total:
                return "503 Service Unavailable", "handshakes_full"
        return None

    # -- bookkeeping ------------------------------------------------------------------------

    def _track(self, sid: str, address: str) -> None:
        if not self._sweeping:  # started with the first session: the server is serving then
            self._sweeping = True
            self.server.start_background_task(self.run, self.server.sleep)
        self.pending[sid] = (time.monotonic(), address)
        self.by_address.setdefault(address, set()).add(sid)

    def _forget(self, sid: str) -> None:
        entry = self.pending.pop(sid, None)
        if entry is None:
            return
        sids = self.by_address.get(entry[1])
        if sids is not None:
            sids.discard(sid)
            if not sids:
                del self.by_address[entry[1]]

    def _has_namespace(self, sid: str) -> bool:
        manager = self.server.manager
        return any(manager.sid_from_eio_sid(sid, ns) for ns in list(manager.get_namespaces()))

    def _prune(self, sids: list[str]) -> None:
        """Stop counting sessions that connected a namespace: they are checked clients now."""
        for sid in sids:
            if self._has_namespace(sid):
                self._forget(sid)

    def sweep(self) -> int:
        """Close sessions pending longer than `expire_seconds`; return how many were closed."""
        deadline = time.monotonic() - self.expire_seconds
        closed = 0
        for sid, (started, _address) in list(self.pending.items()):
            if started > deadline:
                break  # the rest are younger
            self._forget(sid)
            if self._has_namespace(sid):
                continue
            closed += self._close(sid)
        if closed:
            log.warning("closed %d Engine.IO sessions that connected no namespace", closed)
        return closed

    def _close(self, sid: str) -> int:
        eio = self.server.eio
        socket = eio.sockets.get(sid)
        if socket is None:
            return 0
        # wait=False: a polling session nobody polls would never drain its queue.
        socket.close(wait=False)
        eio.sockets.pop(sid, None)  # free it now, not at the service task's next round
        return 1

    def run(self, sleep: Callable[[float], Any]) -> None:
        """Sweep forever (a background task of the Socket.IO server)."""
        while True:
            sleep(min(1.0, self.expire_seconds / 2))
            try:
                self.sweep()
            except Exception:  # a sweep that fails must not end the sweeping
                log.exception("handshake sweep failed")

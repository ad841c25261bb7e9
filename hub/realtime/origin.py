"""Refuse Socket.IO requests from browser pages of other sites, and log every refusal.

Engine.IO checks the Origin header too, but logs only the first refusal; a city's operators
want each one (with the address) in the log and in /metrics. Requests without an Origin
header (appliances, which are not browsers) pass: they authenticate with a device credential.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger("hub.realtime")


class OriginGuard:
    """WSGI middleware in front of the Socket.IO endpoint."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        allowed: Iterable[str],
        on_refusal: Callable[[], None],
        path: str = "/socket.io/",
    ) -> None:
        self.app = app
        self.allowed = frozenset(allowed)
        self.on_refusal = on_refusal
        self.path = path

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Pass allowed requests on; answer others 403."""
        origin = environ.get("HTTP_ORIGIN")
        socketio = environ.get("PATH_INFO", "").startswith(self.path)
        if socketio and origin is not None and origin not in self.allowed:
            log.warning("refused origin %r from %s", origin[:200], environ.get("REMOTE_ADDR", "?"))
            self.on_refusal()
            start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"origin not allowed\n"]
        return self.app(environ, start_response)

"""Serving the hub with gevent's WSGI server (WebSocket support comes from simple-websocket)."""

from __future__ import annotations

import errno
import gc
import logging
import signal
import socket
from typing import Any

import gevent
import gevent.event
from flask import Flask
from gevent import pywsgi

from hub.booking.tokens import redact_tokens

log = logging.getLogger(__name__)


class HubHandler(pywsgi.WSGIHandler):
    """gevent's handler with Nagle off, a header-read timeout, and no HTTP after a WebSocket.

    Nagle: pywsgi sends headers and body in separate writes; with Nagle on, a keep-alive client
    (every browser) waits for its delayed ACK, some 40 ms per response (measured on a slot
    listing: 58.6 ms → 11.7 ms).

    Timeout: pywsgi waits for a request head forever, so 1,100 half-open requests were held
    ≥ 70 s. Every socket operation gets `header_timeout` (the server's attribute) until a
    request asks for a WebSocket; then the timeout is lifted for good, since an idle WebSocket
    is normal (Socket.IO pings every 25 s) and simple-websocket reads a duplicate of this socket
    that inherits its timeout.

    After a WebSocket: pywsgi would read the connection's next bytes as a new HTTP request, and
    a client's closing frame arriving after the server closed the WebSocket was logged as an
    ERROR "Invalid HTTP method: '\x88\x82…'". An upgraded connection never carries HTTP again,
    so it is closed instead.
    """

    def __init__(self, sock: socket.socket, address: Any, server: Any, **kwargs: Any) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(getattr(server, "header_timeout", None))
        super().__init__(sock, address, server, **kwargs)

    def handle_one_response(self) -> None:
        """Run the application; lift the timeout for a WebSocket, and close after it."""
        assert self.environ is not None  # handle_one_request sets it before calling this
        upgrade = self.environ.get("HTTP_UPGRADE", "").lower() == "websocket"
        if upgrade:
            self.socket.settimeout(None)
        try:
            super().handle_one_response()
        finally:
            if upgrade:
                self.close_connection = True

    def _handle_client_error(self, ex: BaseException) -> Any:
        # A request head that timed out is a slow or idle client, not an error worth a
        # traceback on stderr (pywsgi prints one for anything but ValueError): close quietly.
        if isinstance(ex, TimeoutError):
            self.close_connection = True
            return None
        return super()._handle_client_error(ex)  # type: ignore[misc]  # private, not in stubs


class HubServer(pywsgi.WSGIServer):
    """gevent's server with the header-read timeout its handlers read (see HubHandler)."""

    header_timeout: float | None = None


class RedactTokens(logging.Filter):
    """pywsgi's error log prints the failing request (path, environment): a join or manage
    link in it must not reach the log file."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with its tokens replaced by their references."""
        record.msg, record.args = redact_tokens(record.getMessage()), None
        return True


class PortUnavailable(Exception):
    """The hub cannot listen where it was told to (taken by another program, or not allowed)."""

    def __init__(self, host: str, port: int, error: OSError) -> None:
        in_use = error.errno == errno.EADDRINUSE
        super().__init__(f"port {port} is in use" if in_use else f"{host}:{port}: {error.strerror}")
        self.port = port


def listener(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """A listening socket; with `reuse_port`, several hub processes can share one port and the
    kernel spreads connections over them. Raises PortUnavailable (for a one-line message
    instead of a traceback)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortUnavailable(host, port, exc) from exc
    sock.listen(1024)
    return sock


def tune_garbage_collector() -> None:
    """Keep Python's cycle collector from stalling every connection at once.

    A full collection walks every tracked object; with the app loaded and a few hundred
    WebSockets open that is a 50-230 ms pause of the whole process, seen as relay latency
    spikes (bench/signalling.py: p99 152 ms at 1000 messages/s with the defaults). What exists
    at start lives as long as the process, so it is frozen out of collections; young
    collections run a little less often, and full ones only rarely (the p99 became 10 ms).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(5000, 20, 1000)


def serve(
    app: Flask,
    host: str,
    port: int,
    reuse_port: bool = False,
    *,
    sock: socket.socket | None = None,
    stop: gevent.event.Event | None = None,
) -> None:
    """Serve `app` until SIGTERM or SIGINT (or `stop` is set), then let open requests finish
    (up to 10 s). `sock`: a listener bound earlier (the demo holds its port from the start).

    Call after gevent's monkey patching."""
    server = HubServer(
        sock or listener(host, port, reuse_port),
        app,
        handler_class=HubHandler,
        log=None,
        error_log=_error_log(),
    )
    server.header_timeout = app.extensions["settings"].header_timeout_seconds
    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, server.stop, timeout=10)
    if stop is not None:

        def stop_when_told() -> None:
            stop.wait()
            if not server.closed:  # a signal may have stopped it first
                server.stop(timeout=10)

        gevent.spawn(stop_when_told)
    tune_garbage_collector()
    log.info("hub listening on http://%s:%d", host, port)
    server.serve_forever()
    log.info("hub stopped")


def _error_log() -> logging.Logger:
    logger = logging.getLogger("hub.server.errors")
    if not any(isinstance(f, RedactTokens) for f in logger.filters):
        logger.addFilter(RedactTokens())
    return logger

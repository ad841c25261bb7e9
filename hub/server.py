"""Serving the hub with gevent (through Flask-SocketIO, which adds the WebSocket transport)."""

from __future__ import annotations

import logging

from flask import Flask

from hub.realtime import socketio

log = logging.getLogger(__name__)


def serve(app: Flask, host: str, port: int) -> None:
    """Serve `app` until interrupted. Call after gevent's monkey patching."""
    log.info("hub listening on http://%s:%d", host, port)
    socketio.run(app, host=host, port=port, log_output=False, allow_unsafe_werkzeug=False)

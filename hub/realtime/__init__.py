"""Socket.IO: the hub's realtime channel (lobby and signalling arrive with later work).

With BUERGERAMT_REDIS_URL set, Flask-SocketIO's Redis message queue fans events out across
several hub processes; handlers do not change for that.
"""

from __future__ import annotations

from flask import Flask
from flask_socketio import SocketIO

socketio = SocketIO()


def init_app(app: Flask) -> None:
    """Bind Socket.IO to `app`, with the Redis message queue when configured."""
    settings = app.extensions["settings"]
    socketio.init_app(
        app,
        async_mode=app.config.get("SOCKETIO_ASYNC_MODE", "gevent"),
        message_queue=settings.redis_url,
        cors_allowed_origins=[settings.public_url],
    )

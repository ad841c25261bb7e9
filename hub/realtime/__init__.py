"""Socket.IO: the lobby, the call lifecycle and the signalling relay (docs/protocol.md).

Two namespaces: /citizen (the page behind a join link) and /appliance (counter appliances).
With BUERGERAMT_REDIS_URL set, Flask-SocketIO's Redis message queue fans events out across
several hub processes; handlers do not change for that, and the shared database holds every
call's state.
"""

from __future__ import annotations

import logging

from flask import Flask
from flask_socketio import SocketIO

socketio = SocketIO()


def init_app(app: Flask) -> None:
    """Bind Socket.IO to `app`, with the Redis message queue when configured."""
    from hub.realtime.appliance import ApplianceNamespace
    from hub.realtime.citizen import CitizenNamespace
    from hub.realtime.guard import on_error
    from hub.realtime.handshakes import HandshakeLimiter
    from hub.realtime.notices import APPLIANCE, CITIZEN
    from hub.realtime.origin import OriginGuard
    from hub.realtime.registry import Registry
    from hub.realtime.schema_route import bp as schema_bp
    from protocol.limits import MAX_MESSAGE_BYTES

    settings = app.extensions["settings"]
    # This app's namespaces only (tests build many apps); internal, so not in the stubs.
    socketio.namespace_handlers = []  # type: ignore[attr-defined]
    socketio.init_app(  # type: ignore[call-arg]  # the stubs name not all of its options
        app,
        async_mode=app.config.get("SOCKETIO_ASYNC_MODE", "gevent"),
        message_queue=settings.redis_url,
        channel=f"{settings.rate_limit_key_prefix}-socketio",
        cors_allowed_origins=settings.origins,
        transports=["websocket", "polling"] if settings.realtime_polling else ["websocket"],
        max_http_buffer_size=MAX_MESSAGE_BYTES,
        ping_interval=settings.realtime_ping_interval_seconds,
        ping_timeout=settings.realtime_ping_timeout_seconds,
        # One connection's events are handled in order: a candidate must not overtake its offer.
        async_handlers=False,
        manage_session=False,
        # OriginGuard refuses foreign origins first; Engine.IO's own check stays as a backstop.
        engineio_logger=_quiet("hub.engineio"),
        logger=_quiet("hub.socketio"),
    )
    refusals = app.extensions["metrics"].refusals
    app.wsgi_app = OriginGuard(  # type: ignore[method-assign]  # Flask's middleware pattern
        app.wsgi_app, settings.origins, refusals.labels("bad_origin").inc
    )
    app.wsgi_app = HandshakeLimiter(  # type: ignore[method-assign]  # as above
        app.wsgi_app,
        socketio.server,  # type: ignore[attr-defined]  # python-socketio's; not in the stubs
        per_address=settings.realtime_pending_per_address,
        total=settings.realtime_pending_total,
        expire_seconds=settings.realtime_handshake_seconds,
        trusted_proxies=settings.trusted_proxies,
        on_refusal=lambda reason: refusals.labels(reason).inc(),
    )
    registry = Registry(app, socketio)
    app.extensions["realtime"] = registry
    app.extensions["store"].day_changed = registry.day_changed
    socketio.on_namespace(CitizenNamespace(CITIZEN, registry.bucket))
    socketio.on_namespace(ApplianceNamespace(APPLIANCE, registry.bucket))
    socketio.on_error_default(on_error)
    app.register_blueprint(schema_bp)  # the JSON Schema of both namespaces, for their clients


def _quiet(name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.setLevel(logging.WARNING)
    return logger

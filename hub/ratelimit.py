"""Rate limits per client address (Flask-Limiter); shared through Redis when configured."""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from hub.context import hub_settings

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def write_limit() -> str:
    """Limit for requests that book or change appointments."""
    return hub_settings().rate_limit_booking


def read_limit() -> str:
    """Limit for requests that only read."""
    return hub_settings().rate_limit_read


def init_app(app: Flask) -> None:
    """Bind the limiter to `app` with storage in Redis (several processes) or in memory."""
    settings = app.extensions["settings"]
    app.config["RATELIMIT_ENABLED"] = settings.rate_limit_enabled
    app.config["RATELIMIT_STORAGE_URI"] = settings.redis_url or "memory://"
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)

"""Rate limits per client address (Flask-Limiter); shared through Redis when configured."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask, request
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


def per_email_limit() -> str:
    """Limit for booking attempts naming one e-mail address, from any client address."""
    return hub_settings().rate_limit_per_email


def email_key() -> str:
    """The e-mail address a booking names (JSON or form), else the client address."""
    data = request.get_json(silent=True) if request.is_json else request.form
    email = data.get("email") if isinstance(data, Mapping) else None
    if isinstance(email, str) and email.strip():
        return "email:" + email.strip().lower()
    return get_remote_address()


def init_app(app: Flask) -> None:
    """Bind the limiter to `app` with storage in Redis (several processes) or in memory."""
    settings = app.extensions["settings"]
    app.config["RATELIMIT_ENABLED"] = settings.rate_limit_enabled
    app.config["RATELIMIT_STORAGE_URI"] = settings.redis_url or "memory://"
    app.config["RATELIMIT_KEY_PREFIX"] = settings.rate_limit_key_prefix
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)

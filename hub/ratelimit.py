"""Rate limits per client address (Flask-Limiter); shared through Redis when configured."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from hub.booking.emails import InvalidEmail, normalize_email
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


def email_digest(email: str, secret: bytes) -> str:
    """A keyed hash of the address in its one canonical spelling (hub.booking.emails).

    Redis keeps rate-limit keys for up to a day: it sees this hash, never the address, and
    without the hub's secret key nobody can test guessed addresses against it.
    """
    try:
        canonical = normalize_email(email)
    except InvalidEmail:
        canonical = email.strip().lower()  # refused later anyway; still counted, still hashed
    return hmac.new(secret, canonical.encode(), hashlib.sha256).hexdigest()[:32]


def email_key() -> str:
    """The e-mail address a booking names (JSON or form), else the client address."""
    data = request.get_json(silent=True) if request.is_json else request.form
    email = data.get("email") if isinstance(data, Mapping) else None
    if isinstance(email, str) and email.strip():
        return "email:" + email_digest(email, current_app.extensions["ratelimit_email_secret"])
    return get_remote_address()


def init_app(app: Flask) -> None:
    """Bind the limiter to `app` with storage in Redis (several processes) or in memory."""
    settings = app.extensions["settings"]
    secret = settings.effective_secret_key().encode()
    # A key of its own, derived from the hub's secret key (which signs other things too).
    app.extensions["ratelimit_email_secret"] = hmac.digest(secret, b"rate-limit-email", "sha256")
    app.config["RATELIMIT_ENABLED"] = settings.rate_limit_enabled
    app.config["RATELIMIT_STORAGE_URI"] = settings.redis_url or "memory://"
    app.config["RATELIMIT_KEY_PREFIX"] = settings.rate_limit_key_prefix
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)

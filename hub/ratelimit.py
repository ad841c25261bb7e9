"""Rate limits per client address (Flask-Limiter); shared through Redis when configured.

When Redis cannot be reached, Flask-Limiter counts in this process's memory instead (its
in-memory fallback) and goes back to Redis by itself once Redis answers again (it looks after
1, 2, 4 … 32 seconds); booking goes on meanwhile. docs/operations.md says what the operator sees.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from prometheus_client import Counter, Gauge

from hub.booking.emails import InvalidEmail, normalize_email
from hub.context import hub_settings

log = logging.getLogger(__name__)
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)
REDIS_TIMEOUTS = {"socket_connect_timeout": 1, "socket_timeout": 1}  # a hung Redis costs 1 s


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
    # Redis down: count in this process (every process enforces the limits on its own share of
    # traffic) rather than refuse every request; any other limiter failure lets the request
    # through unlimited rather than answer 500.
    app.config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = True
    app.config["RATELIMIT_SWALLOW_ERRORS"] = True
    if settings.redis_url:
        app.config["RATELIMIT_STORAGE_OPTIONS"] = dict(REDIS_TIMEOUTS)
    limiter.init_app(app)
    if settings.redis_url:
        FallbackWatch(app)


def counting_in_memory() -> bool:
    """Whether the limiter counts in this process because its Redis storage is unreachable."""
    return limiter.initialized and limiter.limiter.storage is not limiter.storage


class FallbackWatch:
    """Says once per outage (not per request) that the limits fell back to the process and
    when they are shared again; `buergeramt_ratelimit_fallback` is 1 meanwhile."""

    def __init__(self, app: Flask) -> None:
        registry = app.extensions["metrics"].registry
        self.active = False
        self.gauge = Gauge(
            "buergeramt_ratelimit_fallback",
            "1 while Redis is unreachable and rate limits are counted per hub process",
            registry=registry,
        )
        self.gauge.set_function(lambda: float(counting_in_memory()))
        self.outages = Counter(
            "buergeramt_ratelimit_fallbacks",
            "Times the rate limits fell back to process memory because Redis was unreachable",
            registry=registry,
        )
        app.after_request(self.note)

    def note(self, response: Response) -> Response:
        """Compare with the last request's state; log and count a change."""
        active = counting_in_memory()
        if active != self.active:
            self.active = active
            if active:
                self.outages.inc()
                log.error(
                    "Redis unreachable: rate limits are now counted per hub process "
                    "(booking goes on); Socket.IO events no longer reach other hub processes"
                )
            else:
                log.warning("Redis reachable again: rate limits are shared again")
        return response

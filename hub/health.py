"""Liveness and readiness probes for load balancers and orchestration."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """The process is alive and answering."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """503 only when the database does not answer (nothing works without it). A configured
    Redis that does not answer is reported as `"redis": "unreachable"` with status `degraded`
    and 200: booking goes on with rate limits per process (docs/operations.md)."""
    body: dict[str, str] = {}
    database = current_app.extensions["store"].ping()
    body["database"] = "ok" if database else "unreachable"
    if current_app.extensions["settings"].redis_url:
        body["redis"] = "ok" if _redis_answers() else "unreachable"
    if not database:
        return jsonify(status="unavailable", **body), 503
    return jsonify(status="degraded" if body.get("redis") == "unreachable" else "ready", **body)


def _redis_answers() -> bool:
    import redis

    from hub.ratelimit import REDIS_TIMEOUTS

    probe = current_app.extensions.get("redis_probe")
    if probe is None:
        url = current_app.extensions["settings"].redis_url
        probe = redis.Redis.from_url(url, **REDIS_TIMEOUTS)
        current_app.extensions["redis_probe"] = probe
    try:
        return bool(probe.ping())
    except redis.RedisError:
        return False

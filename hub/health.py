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
    """The database answers; otherwise 503 so the balancer sends traffic elsewhere."""
    if current_app.extensions["store"].ping():
        return jsonify(status="ready", database="ok")
    return jsonify(status="unavailable", database="unreachable"), 503

"""The admin area's blueprint (`/admin`); its pages register on it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

"""Parsing what arrives: JSON bodies, dates, ids and bearer tokens, each with a clear error."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from hub.api.errors import ApiError
from hub.booking.names import InvalidName
from hub.booking.timezone import in_calendar
from hub.booking.tokens import looks_like_token

M = TypeVar("M", bound=BaseModel)
MAX_BODY = 16 * 1024
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def json_body(model: type[M]) -> M:
    """The request body validated against `model`."""
    if not request.is_json:
        raise ApiError("unsupported_media_type")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY:
        raise ApiError("payload_too_large")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        kind = exc.errors(include_url=False)[0]["type"]
        if kind == "json_invalid":
            raise ApiError("invalid_json") from None
        if kind in ("model_type", "model_attributes_type"):  # valid JSON, but not an object
            raise ApiError("invalid_body") from None
        raise _field_error(exc) from None


def _field_error(exc: ValidationError) -> ApiError:
    first = exc.errors(include_url=False)[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    kind = first["type"]
    if kind == "missing":
        return ApiError("missing_field", field)
    if kind == "extra_forbidden":
        return ApiError("unknown_field", field)
    if isinstance(first.get("ctx", {}).get("error"), InvalidName):
        return ApiError("invalid_name", field)
    return ApiError("invalid_field", field, detail=first["msg"])


def query_date(name: str, default: date) -> date:
    """A YYYY-MM-DD query parameter, or `default` when absent."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not DATE.match(raw):
        raise ApiError("invalid_date", name)
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ApiError("invalid_date", name) from None
    if not in_calendar(day):
        raise ApiError("date_out_of_range", name)
    return day


def appointment_id(raw: str) -> uuid.UUID:
    """The id from the path; anything that is not a UUID simply matches nothing."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ApiError("appointment_not_found") from None


def bearer_token() -> str:
    """The manage secret from `Authorization: Bearer …`."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError("token_required")
    if not looks_like_token(token):
        raise ApiError("appointment_not_found")
    return token

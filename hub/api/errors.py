"""API errors: the JSON answer for a code of hub.messages.ERRORS, and the API's own handlers."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from hub.booking.rules import BookingError, SlotTaken
from hub.booking.timezone import to_local_iso
from hub.messages import ERRORS

HTTP_CODES = {
    400: "invalid_body",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class ApiError(Exception):
    """An error answered as {"error": {"code", "message", ...}}."""

    def __init__(self, code: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.field = field
        self.extra = extra


def error_response(code: str, field: str | None = None, **extra: Any) -> Response:
    """The JSON response for an error code."""
    status, message = ERRORS[code]
    body: dict[str, Any] = {"code": code, "message": str(message) % {"field": field or ""}}
    if field:
        body["field"] = field
    body.update(extra)
    response = jsonify(error=body)
    response.status_code = status
    return response


def _from_booking_error(exc: BookingError) -> Response:
    if isinstance(exc, SlotTaken):
        alternatives = [
            {"start": to_local_iso(s.start), "end": to_local_iso(s.end)} for s in exc.alternatives
        ]
        return error_response(exc.code, exc.field, alternatives=alternatives)
    return error_response(exc.code, exc.field)


def http_error_response(exc: HTTPException) -> Response:
    """The JSON answer for an HTTP error (404, 405, 413, 429, ...) under /api/."""
    code = HTTP_CODES.get(
        exc.code or 500, "internal_error" if (exc.code or 500) >= 500 else "invalid_body"
    )
    response = error_response(code)
    if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]  # 405: MethodNotAllowed
        response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]  # as above
    if exc.code == 429:
        retry = getattr(exc, "retry_after", None)
        if retry:
            response.headers["Retry-After"] = str(retry)
    return response


def init_app(app: Flask) -> None:
    """JSON answers for the errors the API's views raise. Errors that can happen on any path
    (404, a database gone, a bug) are answered by hub.error_handlers, JSON under /api/."""
    app.register_error_handler(ApiError, lambda e: error_response(e.code, e.field, **e.extra))
    app.register_error_handler(BookingError, _from_booking_error)

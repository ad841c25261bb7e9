"""API errors: one table of stable codes, statuses and translated messages; JSON handlers."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from hub.booking.rules import BookingError, SlotTaken
from hub.booking.timezone import to_local_iso
from hub.booking.tokens import redact_path

log = logging.getLogger(__name__)

# code -> (HTTP status, message). Messages are English msgids with German translations.
ERRORS: dict[str, tuple[int, Any]] = {
    "invalid_json": (400, _l("The request body is not valid JSON.")),
    "invalid_body": (400, _l("The request body must be a JSON object.")),
    "missing_field": (422, _l("The field “%(field)s” is required.")),
    "unknown_field": (422, _l("The field “%(field)s” is not allowed here.")),
    "invalid_field": (422, _l("The field “%(field)s” has an invalid value.")),
    "invalid_name": (  # hub.booking.names; the booking page says the same
        422,
        _l(
            "Please enter your name as it is written, with letters, spaces, hyphens, "
            "apostrophes and dots only (no digits, no web addresses), at most 100 characters."
        ),
    ),
    "invalid_date": (422, _l("“%(field)s” must be a date in the form YYYY-MM-DD.")),
    "date_out_of_range": (422, _l("“%(field)s” must lie between the years 2000 and 2999.")),
    "invalid_range": (422, _l("The end of the date range lies before its start.")),
    "range_too_long": (422, _l("The date range is too long.")),
    "start_too_soon": (422, _l("This time is too soon to book.")),
    "start_too_far": (422, _l("This time lies beyond the booking horizon.")),
    "start_not_offered": (422, _l("No appointment can start at this time.")),
    "token_required": (401, _l("This request needs the secret from the manage link.")),
    "not_found": (404, _l("Not found.")),
    "service_not_found": (404, _l("This service does not exist.")),
    "appointment_not_found": (404, _l("No appointment matches this link.")),
    "method_not_allowed": (405, _l("This method is not allowed here.")),
    "slot_taken": (409, _l("This time has just been taken. Please choose another.")),
    "appointment_cancelled": (409, _l("This appointment has been cancelled.")),
    "appointment_past": (409, _l("This appointment has already begun or passed.")),
    "hold_expired": (409, _l("This booking was not confirmed in time and has been released.")),
    "too_many_appointments": (
        409,
        _l(
            "This e-mail address already holds as many upcoming appointments as allowed. "
            "Please cancel one before booking another."
        ),
    ),
    "payload_too_large": (413, _l("The request is too large.")),
    "unsupported_media_type": (415, _l("Send the request body as application/json.")),
    "rate_limited": (429, _l("Too many requests. Please wait a moment and try again.")),
    "internal_error": (500, _l("Something went wrong on our side. Please try again later.")),
    "unavailable": (503, _l("The service is unavailable at the moment.")),
}

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


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    """JSON errors for everything under /api/; never an HTML page or a bare 500 there."""
    app.register_error_handler(ApiError, lambda e: error_response(e.code, e.field, **e.extra))
    app.register_error_handler(BookingError, _from_booking_error)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> ResponseReturnValue:
        if not _wants_json():
            from hub.web.views import error_page

            return error_page(exc)
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

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError) -> Response | tuple[str, int]:
        log.warning(
            "database unavailable on %s %s: %s", request.method, redact_path(request.path), exc.orig
        )
        if _wants_json():
            return error_response("unavailable")
        return "Service Unavailable", 503

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response | tuple[str, int]:
        # The path of /manage/<token> and /join/<token> carries the secret: log a reference only.
        log.exception("unhandled error on %s %s", request.method, redact_path(request.path))
        if _wants_json():
            return error_response("internal_error")
        return "Internal Server Error", 500

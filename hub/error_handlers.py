"""Errors that can happen on any path: JSON under /api/, the citizens' error page elsewhere.

This sits above both front-ends (like the app factory) so that hub.api and hub.web need not know
each other: each renders its own kind of answer, this module picks one by the request's path.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from hub.api.errors import error_response, http_error_response
from hub.booking.tokens import redact_path
from hub.web.views import error_page

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    """Never an HTML page or a bare 500 under /api/; never JSON on the citizens' pages."""

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> ResponseReturnValue:
        return http_error_response(exc) if _wants_json() else error_page(exc)

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

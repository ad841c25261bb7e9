"""Documents as the HTTP front-ends answer about them: the list and checklist as JSON, the bodies
they take (read in bounded pieces), refusals with their status and a message in the request's
language, and files sent back with safe headers.

hub/web/documents.py (citizens) and hub/api/counter_documents.py (counter appliances) both use
it, so a refusal reads the same on the citizen's page and on the clerk's screen.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from flask import Response, jsonify, request, stream_with_context
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from werkzeug.exceptions import ClientDisconnected, HTTPException, RequestEntityTooLarge

from hub.context import hub_settings, now, store
from hub.documents.errors import DocumentRefused
from hub.i18n import current_language
from hub.messages import DOCUMENT_ERRORS, ERRORS
from hub.operations import documents
from protocol.documents import Documents

if TYPE_CHECKING:
    from hub.operations.documents import Document, UploadState

M = TypeVar("M", bound=BaseModel)

CHUNK_BYTES = 1024 * 1024  # one PUT of an upload carries at most this much
PIECE_BYTES = 64 * 1024  # read from the socket this much at a time
MAX_JSON_BYTES = 16 * 1024
# Shown by the browser itself (an <img>, or its PDF viewer in an <iframe>); anything else is
# only ever a download.
VIEWABLE = frozenset({"application/pdf", "image/jpeg", "image/png"})
ACCEPTED_TYPES = ("application/pdf", "image/jpeg", "image/png", "image/heic", "image/heif")
# The HTTP statuses of errors that are not refusals of a document.
HTTP_CODES = {
    400: "invalid_body",
    404: "appointment_not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class BadInput(Exception):
    """A request body or parameter that is not as documented: a code of hub.messages.ERRORS."""

    def __init__(self, code: str, field: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.field = field


class UploadStart(BaseModel):
    """What a client says about a file before sending it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=255)
    size: int = Field(ge=1)
    item: int | None = Field(default=None, ge=0, le=1000)


class ReviewBody(BaseModel):
    """The clerk's verdict on a document: accepted, or to be sent again with a reason."""

    model_config = ConfigDict(extra="forbid", strict=True)

    accepted: bool
    reason: str = Field(default="", max_length=500)


def limits() -> dict[str, int]:
    """The sizes a client must keep to, from the settings."""
    settings = hub_settings()
    return {
        "file_bytes": settings.documents_max_file_mb * 1024 * 1024,
        "appointment_bytes": settings.documents_max_appointment_mb * 1024 * 1024,
        "chunk_bytes": CHUNK_BYTES,
    }


def _texts_values() -> dict[str, Any]:
    settings = hub_settings()
    return {
        "file_mb": settings.documents_max_file_mb,
        "appointment_mb": settings.documents_max_appointment_mb,
    }


def refusal_text(code: str) -> str:
    """The message of a refusal code, in the request's language, with the limits filled in."""
    return str(DOCUMENT_ERRORS[code][1]) % _texts_values()


def error_json(code: str, status: int, message: str, **extra: Any) -> Response:
    """`{"error": {"code", "message", ...}}` with `status`."""
    response = jsonify(error={"code": code, "message": message, **extra})
    response.status_code = status
    return response


def refusal_response(exc: DocumentRefused) -> Response:
    """A refused document or upload, with the status that fits and a translated message."""
    status = DOCUMENT_ERRORS[exc.code][0] if exc.code in DOCUMENT_ERRORS else 422
    text = refusal_text(exc.code) if exc.code in DOCUMENT_ERRORS else str(exc)
    extra = {"received": exc.received} if exc.received is not None else {}
    return error_json(exc.code, status, text, **extra)


def bad_input_response(exc: BadInput) -> Response:
    """A body or parameter that is not as documented."""
    status, message = ERRORS[exc.code]
    extra = {"field": exc.field} if exc.field else {}
    return error_json(exc.code, status, str(message) % {"field": exc.field or ""}, **extra)


def http_error_json(exc: HTTPException) -> Response:
    """An HTTP error (404 for a link that opens nothing, 413, 429, ...) as JSON."""
    status = exc.code or 500
    code = HTTP_CODES.get(status, "internal_error" if status >= 500 else "invalid_body")
    response = error_json(code, ERRORS[code][0], str(ERRORS[code][1]) % {"field": ""})
    response.status_code = status
    retry = getattr(exc, "retry_after", None)
    if status == 429 and retry:
        response.headers["Retry-After"] = str(retry)
    return response


def json_body(model: type[M]) -> M:
    """The JSON body validated against `model` (no CSRF token needed: a form from another site
    cannot send application/json without a CORS preflight, which the hub never allows)."""
    if not request.is_json:
        raise BadInput("unsupported_media_type")
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise BadInput("payload_too_large")
    raw = request.get_data(cache=False)
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        if first["type"] == "json_invalid":
            raise BadInput("invalid_json") from None
        if first["type"] in ("model_type", "model_attributes_type"):
            raise BadInput("invalid_body") from None
        if first["type"] == "missing":
            raise BadInput("missing_field", field) from None
        if first["type"] == "extra_forbidden":
            raise BadInput("unknown_field", field) from None
        raise BadInput("invalid_field", field) from None


def int_arg(name: str, *, required: bool = True) -> int | None:
    """A non-negative whole number from the query string."""
    raw = request.args.get(name)
    if raw is None:
        if required:
            raise BadInput("missing_field", name)
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise BadInput("invalid_field", name)
    return int(raw)


def body_pieces(limit: int) -> Iterator[bytes]:
    """The raw request body in pieces of at most PIECE_BYTES; 413 before anything is read when
    the declared length exceeds `limit` (or as soon as an undeclared one does), and 400 when the
    client goes away before its declared length arrived: a cut-off body is never taken."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise RequestEntityTooLarge()
    # One more than the limit: werkzeug refuses a read past its maximum even at the very end.
    request.max_content_length = limit + 1
    stream = request.stream
    total = 0
    while declared is None or total < declared:
        wanted = PIECE_BYTES if declared is None else min(PIECE_BYTES, declared - total)
        piece = stream.read(min(wanted, limit + 1 - total))
        if not piece:
            if declared is not None:
                raise ClientDisconnected()
            return
        total += len(piece)
        if total > limit:
            raise RequestEntityTooLarge()
        yield piece


def read_body(limit: int) -> bytes:
    """The whole raw body (at most `limit` bytes, see body_pieces)."""
    return b"".join(body_pieces(limit))


def upload_json(state: UploadState) -> dict[str, Any]:
    """Where an upload stands: the client resumes at `received`."""
    return {
        "id": str(state.id),
        "name": state.name,
        "item": state.item,
        "size": state.size,
        "received": state.received,
    }


Links = Callable[[str, str], dict[str, str | None]]


def listing(view: Documents, links: Links) -> dict[str, Any]:
    """The appointment's documents and checklist as the realtime `documents` event tells them
    (`view`), each document with its `links` (from its id and media type), each checklist entry
    with its name in the request's language as well, and the limits."""
    wire = view.wire()
    for document in wire["documents"]:
        document.update(links(document["id"], document["media_type"]))
    english = current_language() == "en"
    for entry in wire["checklist"]:
        entry["name"] = entry["name_en"] if english else entry["name_de"]
    return wire | {"limits": limits(), "types": list(ACCEPTED_TYPES)}


def document_entry(view: Documents, links: Links, document: uuid.UUID) -> dict[str, Any]:
    """One document of `listing` (the answer of a finished upload or a review)."""
    return next(d for d in listing(view, links)["documents"] if d["id"] == str(document))


_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f/\\]+")


def safe_filename(name: str) -> tuple[str, str]:
    """The name for a download: an ASCII fallback and the full name, without control
    characters, path separators or quotes."""
    clean = _CONTROL.sub("_", unicodedata.normalize("NFC", name)).strip(" .") or "document"
    ascii_name = unicodedata.normalize("NFKD", clean).encode("ascii", "ignore").decode("ascii")
    ascii_name = _UNSAFE.sub("_", ascii_name).strip(" ._") or "document"
    return ascii_name[:150], clean[:200]


def disposition(kind: str, name: str) -> str:
    """A Content-Disposition value: `attachment` or `inline`, with RFC 6266 names."""
    ascii_name, full = safe_filename(name)
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(full, safe='')}"


# A file shown inside our own page (the PDF viewer in an <iframe>): framed by us only, and
# nothing in it may run script or load from elsewhere.
INLINE_POLICY = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"
)


def file_response(document: Document, chunks: Iterable[bytes], *, inline: bool) -> Response:
    """Stream a document's bytes: a download, or shown inline when the browser can show it."""
    inline = inline and document.media_type in VIEWABLE
    response = Response(
        stream_with_context(iter(chunks)), mimetype=document.media_type, direct_passthrough=True
    )
    response.content_length = document.size  # the stored file's, which is what is sent
    response.headers["Content-Disposition"] = disposition(
        "inline" if inline else "attachment", document.name
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    if inline:
        response.headers["Content-Security-Policy"] = INLINE_POLICY
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
    else:
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def send_document(
    appointment: uuid.UUID, document: uuid.UUID, actor: str, *, inline: bool
) -> Response:
    """Open a document for `actor` (logged as viewed or downloaded) and stream it."""
    found, chunks = documents.open_document(
        store(),
        appointment,
        document,
        actor=actor,
        action="view" if inline else "download",
        now=now(),
    )
    return file_response(found, chunks, inline=inline)

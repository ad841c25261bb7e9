"""The clerk's side of an appointment's documents, for counter appliances over HTTP (files do not
travel through Socket.IO): list and checklist, download, hand over a file, review.

Every request carries the appliance's device credential (`Authorization: Bearer …`, as on the
realtime channel) and its clerk's session (`X-Clerk-Session`): the device alone reads nothing.
An appliance reaches the appointments of its counter's day and the call it holds; any other
appointment is answered 404, as one that does not exist.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from hub.api.errors import ApiError
from hub.context import hub_settings, now, store
from hub.document_answers import (
    CHUNK_BYTES,
    VIEWABLE,
    BadInput,
    Links,
    ReviewBody,
    bad_input_response,
    body_pieces,
    document_entry,
    int_arg,
    json_body,
    listing,
    refusal_response,
    send_document,
)
from hub.documents.errors import DocumentRefused
from hub.operations import accounts, documents
from hub.operations.counter_access import may_handle
from hub.operations.enrolment import authenticate_bearer
from hub.realtime.notices import documents_view, tell_documents
from hub.security import csrf

bp = Blueprint("counter_documents", __name__, url_prefix="/api/v1/counter")
csrf.exempt(bp)  # credentials in headers, which no page of another site can send
BASE = "/appointments/<uuid:appointment_id>/documents"


@bp.errorhandler(DocumentRefused)
def _refused(exc: DocumentRefused) -> ResponseReturnValue:
    return refusal_response(exc)


@bp.errorhandler(BadInput)
def _bad_input(exc: BadInput) -> ResponseReturnValue:
    return bad_input_response(exc)


def _clerk(appointment: uuid.UUID) -> str:
    """The signed-in clerk acting through this appliance on `appointment`, as the access log
    names them (`clerk:<id>`); 401 or 404 otherwise."""
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    secret = hub_settings().effective_secret_key()
    device = (
        authenticate_bearer(store(), secret, credential.strip(), now())
        if scheme.lower() == "bearer"
        else None
    )
    if device is None:
        raise ApiError("unknown_device")
    clerk = accounts.resume(store(), device.id, request.headers.get("X-Clerk-Session", ""), now())
    if clerk is None:
        raise ApiError("not_signed_in")
    if not may_handle(store(), device, appointment, now()):
        raise ApiError("appointment_not_found")
    return f"clerk:{clerk.id}"


def _links(appointment: uuid.UUID) -> Links:
    def links(document: str, media_type: str) -> dict[str, str | None]:
        def to(endpoint: str) -> str:
            return url_for(endpoint, appointment_id=appointment, document_id=document)

        return {
            "url": to("counter_documents.download"),
            "view_url": to("counter_documents.view") if media_type in VIEWABLE else None,
        }

    return links


def _answer(appointment: uuid.UUID, document: uuid.UUID) -> dict[str, object]:
    """The document as it stands now, with its links."""
    return document_entry(documents_view(appointment), _links(appointment), document)


@bp.get(BASE)
def listed(appointment_id: uuid.UUID) -> ResponseReturnValue:
    """The appointment's documents and checklist (both languages' names), with the limits."""
    _clerk(appointment_id)
    return jsonify(listing(documents_view(appointment_id), _links(appointment_id)))


@bp.post(BASE)
def hand_over(appointment_id: uuid.UUID) -> ResponseReturnValue:
    """A file for the citizen (the clerk's scan as PDF), the body as it is, in one request:
    `?name=` its file name, `?item=` the checklist entry it answers (optional)."""
    actor = _clerk(appointment_id)
    name = request.args.get("name", "").strip()
    if not name or len(name) > 255:
        raise BadInput("invalid_field", "name")
    item = int_arg("item", required=False)
    size = request.content_length
    if size is None:  # the hub refuses a file it cannot size before taking it
        raise BadInput("missing_field", "Content-Length")
    max_file = hub_settings().documents_max_file_mb * 1024 * 1024
    upload = documents.begin_upload(
        store(), appointment_id, name=name, size=size, item=item, sender="clerk", now=now()
    )
    try:
        received, buffer = 0, bytearray()
        for piece in body_pieces(max_file):
            buffer += piece
            if len(buffer) >= CHUNK_BYTES:
                documents.append(store(), appointment_id, upload.id, received, bytes(buffer), now())
                received, buffer = received + len(buffer), bytearray()
        if buffer:
            documents.append(store(), appointment_id, upload.id, received, bytes(buffer), now())
        document = documents.finish(store(), appointment_id, upload.id, actor=actor, now=now())
    except BaseException:
        documents.cancel(store(), appointment_id, upload.id)
        raise
    tell_documents(appointment_id)
    return jsonify(_answer(appointment_id, document.id)), 201


@bp.post(BASE + "/<uuid:document_id>/review")
def review(appointment_id: uuid.UUID, document_id: uuid.UUID) -> ResponseReturnValue:
    """`{"accepted": true}`, or `{"accepted": false, "reason": "…"}` to ask for it again."""
    actor = _clerk(appointment_id)
    verdict = json_body(ReviewBody)
    document = documents.review(
        store(),
        appointment_id,
        document_id,
        accepted=verdict.accepted,
        reason=verdict.reason,
        actor=actor,
        now=now(),
    )
    tell_documents(appointment_id)
    return jsonify(_answer(appointment_id, document.id))


@bp.delete(BASE + "/<uuid:document_id>")
def delete(appointment_id: uuid.UUID, document_id: uuid.UUID) -> ResponseReturnValue:
    """Delete a document (one sent by mistake, say)."""
    actor = _clerk(appointment_id)
    documents.delete_document(store(), appointment_id, document_id, actor=actor, now=now())
    tell_documents(appointment_id)
    return "", 204


@bp.get(BASE + "/<uuid:document_id>")
def download(appointment_id: uuid.UUID, document_id: uuid.UUID) -> ResponseReturnValue:
    """A document as a file."""
    return send_document(appointment_id, document_id, _clerk(appointment_id), inline=False)


@bp.get(BASE + "/<uuid:document_id>/view")
def view(appointment_id: uuid.UUID, document_id: uuid.UUID) -> ResponseReturnValue:
    """A document to show on the clerk's screen (logged as viewed, not downloaded)."""
    return send_document(appointment_id, document_id, _clerk(appointment_id), inline=True)

"""A citizen's documents over HTTP, behind the join link and the manage link alike: the list and
checklist, resumable uploads in chunks, and downloads (as a file, or shown in the page).

`/join/<token>/documents…` and `/manage/<token>/documents…` answer the same; the token is
resolved as the call page and the manage page resolve it (404 for a wrong one). Every route
but the downloads answers JSON, errors included. No CSRF token: writes are JSON posts, PUT or
DELETE, which a page of another site cannot send here without a CORS preflight (never allowed).
"""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, NotFound

from hub.booking.tokens import looks_like_token
from hub.context import hub_settings, now, store
from hub.document_answers import (
    CHUNK_BYTES,
    VIEWABLE,
    BadInput,
    Links,
    UploadStart,
    bad_input_response,
    document_entry,
    http_error_json,
    int_arg,
    json_body,
    listing,
    read_body,
    refusal_response,
    refusal_text,
    send_document,
    upload_json,
)
from hub.documents.errors import DocumentRefused
from hub.i18n import current_language
from hub.operations import calls, documents
from hub.ratelimit import limiter, read_limit, write_limit
from hub.realtime.notices import documents_view, tell_documents
from hub.security import csrf
from hub.web.views import error_page

bp = Blueprint("documents", __name__)
csrf.exempt(bp)  # see the module's docstring
BASE = "/<any(join, manage):link>/<token>/documents"
DOWNLOADS = {"documents.download", "documents.view"}


def messages() -> dict[str, str]:
    """Texts the panel's script shows, in the page's language."""
    return {
        "missing": _("missing"),
        "uploaded": _("sent, not checked yet"),
        "accepted": _("accepted"),
        "again": _("please send again"),
        "reason": _("The clerk says: %(reason)s", reason="{reason}"),
        "other": _("Another document"),
        "item_option": _("%(name)s (%(state)s)", name="{name}", state="{state}"),
        "by_you": _("sent by you"),
        "by_clerk": _("from the clerk"),
        "checked": _("checked: %(state)s", state="{state}"),
        "download": _("Download"),
        "download_named": _("Download %(name)s", name="{name}"),
        "show": _("Show"),
        "hide": _("Hide"),
        "show_named": _("Show %(name)s", name="{name}"),
        "hide_named": _("Hide %(name)s", name="{name}"),
        "sending": _("Sending %(name)s …", name="{name}"),
        "progress": _("Sending %(name)s: %(percent)s %%", name="{name}", percent="{percent}"),
        "checking": _("Checking %(name)s …", name="{name}"),
        "done": _("%(name)s has been sent.", name="{name}"),
        "cancelled": _("Sending was cancelled; nothing of the file was kept."),
        "retrying": _("The connection was interrupted. Trying again …"),
        "resumed": _("Connected again; sending goes on."),
        "gave_up": _(
            "The connection stayed interrupted, so nothing of the file was kept. "
            "Please send it again when you are back online."
        ),
        "empty": _("This file is empty."),
        "too_large": refusal_text("too_large"),
        "busy": _("Please wait until the current file has been sent."),
        "failed": _("The file could not be sent. Please try again."),
        "delete": _("Delete"),
        "delete_named": _("Delete %(name)s", name="{name}"),
        "confirm_delete": _("Delete %(name)s? The clerk will no longer see it.", name="{name}"),
        "deleted": _("%(name)s has been deleted.", name="{name}"),
        "new_from_clerk": _("The clerk has sent you a document: %(name)s", name="{name}"),
        "asked_again": _("The clerk asks you to send %(name)s again.", name="{name}"),
    }


@bp.app_template_global()
def documents_config(link: str, token: str, uploads: bool) -> dict[str, object]:
    """What the documents panel's script needs: where to ask, the texts, the limits."""
    return {
        "base": url_for("documents.listed", link=link, token=token),
        "lang": current_language(),
        "uploads": uploads,
        "file_mb": hub_settings().documents_max_file_mb,
        "days": hub_settings().documents_retention_days,
        "messages": messages(),
    }


def _appointment(link: str, token: str) -> uuid.UUID:
    """The appointment a join or manage link opens; 404 as on its page when none."""
    if not looks_like_token(token):
        abort(404)
    if link == "join":
        state = calls.link_state(store(), token)
        if state is None:
            abort(404)
        return state.appointment_id
    found = documents.manage_appointment(store(), token)
    if found is None:
        abort(404)
    return found


def _actor(link: str) -> str:
    """Who acts, for the access log: the citizen, through which of their links."""
    return f"citizen:{link}"


def _links(link: str, token: str) -> Links:
    """Where the page fetches a document (to save it, or to show it)."""

    def links(document: str, media_type: str) -> dict[str, str | None]:
        url = url_for("documents.download", link=link, token=token, document_id=document)
        view = url_for("documents.view", link=link, token=token, document_id=document)
        return {"url": url, "view_url": view if media_type in VIEWABLE else None}

    return links


@bp.errorhandler(DocumentRefused)
def _refused(exc: DocumentRefused) -> ResponseReturnValue:
    if request.endpoint in DOWNLOADS:  # unknown_document, on a link the browser opened
        return error_page(NotFound())
    return refusal_response(exc)


@bp.errorhandler(BadInput)
def _bad_input(exc: BadInput) -> ResponseReturnValue:
    return bad_input_response(exc)


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException) -> ResponseReturnValue:
    # A download is opened by the browser itself: it gets the page; the script gets JSON.
    return error_page(exc) if request.endpoint in DOWNLOADS else http_error_json(exc)


@bp.get(BASE)
@limiter.limit(read_limit)
def listed(link: str, token: str) -> ResponseReturnValue:
    """The appointment's documents and its service's checklist, with the limits."""
    appointment = _appointment(link, token)
    return jsonify(listing(documents_view(appointment), _links(link, token)))


@bp.post(BASE + "/uploads")
@limiter.limit(write_limit)
def begin(link: str, token: str) -> ResponseReturnValue:
    """Announce a file `{name, size, item}`; refused at once when it is too large."""
    appointment = _appointment(link, token)
    start = json_body(UploadStart)
    state = documents.begin_upload(
        store(),
        appointment,
        name=start.name,
        size=start.size,
        item=start.item,
        sender="citizen",
        now=now(),
    )
    return jsonify(upload_json(state)), 201


@bp.get(BASE + "/uploads/<uuid:upload_id>")
@limiter.limit(read_limit)
def upload_state(link: str, token: str, upload_id: uuid.UUID) -> ResponseReturnValue:
    """How much of an upload has arrived (to resume after a dropped connection)."""
    appointment = _appointment(link, token)
    return jsonify(upload_json(documents.upload_state(store(), appointment, upload_id)))


@bp.put(BASE + "/uploads/<uuid:upload_id>")
@limiter.limit(read_limit)  # a file comes in many of these
def send(link: str, token: str, upload_id: uuid.UUID) -> ResponseReturnValue:
    """The next piece of the file (`?offset=` where it starts; at most 1 MiB)."""
    appointment = _appointment(link, token)
    offset = int_arg("offset")
    assert offset is not None
    chunk = read_body(CHUNK_BYTES)
    state = documents.append(store(), appointment, upload_id, offset, chunk, now())
    return jsonify(upload_json(state))


@bp.post(BASE + "/uploads/<uuid:upload_id>/finish")
@limiter.limit(write_limit)
def finish(link: str, token: str, upload_id: uuid.UUID) -> ResponseReturnValue:
    """All of it is there: check, clean and keep the file."""
    appointment = _appointment(link, token)
    if not request.is_json:  # the same rule as every write of this blueprint
        raise BadInput("unsupported_media_type")
    document = documents.finish(store(), appointment, upload_id, actor=_actor(link), now=now())
    tell_documents(appointment)
    view = documents_view(appointment)
    return jsonify(document_entry(view, _links(link, token), document.id)), 201


@bp.delete(BASE + "/uploads/<uuid:upload_id>")
@limiter.limit(write_limit)
def cancel(link: str, token: str, upload_id: uuid.UUID) -> ResponseReturnValue:
    """Give up an upload: what arrived of it is dropped."""
    appointment = _appointment(link, token)
    documents.cancel(store(), appointment, upload_id)
    return "", 204


@bp.delete(BASE + "/<uuid:document_id>")
@limiter.limit(write_limit)
def delete(link: str, token: str, document_id: uuid.UUID) -> ResponseReturnValue:
    """Take back a document the citizen sent (not once it is accepted)."""
    appointment = _appointment(link, token)
    documents.delete_document(store(), appointment, document_id, actor=_actor(link), now=now())
    tell_documents(appointment)
    return "", 204


@bp.get(BASE + "/<uuid:document_id>")
@limiter.limit(read_limit)
def download(link: str, token: str, document_id: uuid.UUID) -> ResponseReturnValue:
    """A document as a file to save."""
    return send_document(_appointment(link, token), document_id, _actor(link), inline=False)


@bp.get(BASE + "/<uuid:document_id>/view")
@limiter.limit(read_limit)
def view(link: str, token: str, document_id: uuid.UUID) -> ResponseReturnValue:
    """A document shown by the browser itself (images, PDFs); other kinds download."""
    return send_document(_appointment(link, token), document_id, _actor(link), inline=True)

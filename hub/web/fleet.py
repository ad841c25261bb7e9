"""IT's fleet page: every appliance with its state, last heartbeat and devices, and those
offline while their counter is open flagged (the table of `buergeramt devices list`); below,
the appliances waiting for approval, each with a form to approve it by the claim code its
screen shows (counter and name) or to reject it. A page per appliance asks it to identify
itself, restart or reboot, and lists its latest remote actions and how far they got.

Administrators and IT, signed in to the admin area (without a session a browser is sent to its
sign-in, another role gets its no-access page), or a script sending HTTP Basic credentials of
such an account, as the cash office's page (hub/web/cash_office.py). Every form carries a CSRF
token (Flask-WTF, hub.security: a post without a valid one is refused with 400 before anything
is read) and a post whose Origin (or, without one, Referer) is another site's is refused as
well: a browser sends the session's cookie (and HTTP Basic it once had) with a form another
site posts too. The forms call the
same operations as the command line and the HTTP API (hub.operations.enrolment, .remote).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from babel.dates import format_timedelta
from flask import (
    Blueprint,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import MultiDict

from hub.booking.timezone import to_local_iso
from hub.context import hub_settings, now, store
from hub.i18n import current_language
from hub.operations import enrolment, remote
from hub.operations.accounts import AccountError, Staff
from hub.operations.counters import list_counters
from hub.operations.fleet import FleetEntry, counts, fleet
from hub.ratelimit import limiter, read_limit
from hub.web.admin.session import navigation, require
from hub.web.cash_office import _guarded
from protocol.enrolment import normalise_claim_code

log = logging.getLogger(__name__)
bp = Blueprint("fleet_page", __name__, template_folder="templates")
bp.context_processor(navigation)
REALM = "Buergeramt IT"  # HTTP Basic, for scripts
PAGE_ACTIONS = ("identify", "restart", "reboot")  # what the page offers (docs/operations.md)
FORCEABLE = ("restart", "reboot")  # these wait for a call's end unless forced
NAME_CHARS = 100  # a device's name (devices.name)
SHOWN_ACTIONS = 20  # the latest actions on a device's page


def ago(seconds: float | None) -> str:
    """A duration as the page's language says it (narrow: 3 T, 5 Min.); – when unknown."""
    if seconds is None:
        return "–"
    return format_timedelta(
        timedelta(seconds=seconds), format="narrow", threshold=1.5, locale=current_language()
    )


def local_time(instant: datetime | None) -> str:
    """An instant as Berlin wall time, to the minute."""
    return to_local_iso(instant)[:16].replace("T", " ") if instant else "–"


def local_seconds(instant: datetime | None) -> str:
    """An instant as Berlin wall time, to the second (actions follow each other quickly)."""
    return to_local_iso(instant)[:19].replace("T", " ") if instant else "–"


def health_names() -> dict[str, str]:
    """A device's health as the page names it."""
    return {
        "ok": _("present and delivering"),
        "stalled": _("delivers nothing"),
        "off": _("switched off"),
        "absent": _("not present"),
    }


def action_names() -> dict[str, str]:
    """Kinds of remote actions as the page names them (others are shown as they are stored)."""
    return {
        "identify": _("Identify"),
        "restart": _("Restart"),
        "reboot": _("Reboot the device"),
        "settings": _("Settings"),
        "update": _("Update"),
        "logs": _("Log"),
    }


def action_states() -> dict[str, str]:
    """States of remote actions as the page names them (others are shown as they are stored)."""
    return {
        "requested": _("requested"),
        "sent": _("sent"),
        "waiting": _("waiting for the call to end"),
        "running": _("running"),
        "done": _("done"),
        "failed": _("failed"),
    }


class FormError(Exception):
    """A form the page refuses: the message for the person, the answer's status, the field
    to mark, the pending appliance (its key's id) whose form it was and what was typed."""

    def __init__(
        self,
        message: str,
        status: int = 422,
        field: str | None = None,
        key: int | None = None,
        values: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message, self.status, self.field = message, status, field
        self.key, self.values = key, values or {}


# --- guards -----------------------------------------------------------------------------------


def by(staff: Staff) -> str:
    """Who did it, as approvals and actions record it."""
    return f"web:{staff.username}"


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _same_origin() -> bool:
    """The post comes from one of our pages: its Origin, or without one its Referer, is the
    hub's own (as the browser reached it, or its public_url). Neither sent (a script, an old
    client): the CSRF token alone decides."""
    sent = request.headers.get("Origin") or request.headers.get("Referer")
    if not sent:
        return True
    own = {_origin_of(request.host_url), _origin_of(hub_settings().public_url)}
    return _origin_of(sent) in own


def _refused(message: str, status: int) -> ResponseReturnValue:
    return render_template("fleet_message.html", message=message, lang=current_language()), status


@bp.errorhandler(CSRFError)
def _csrf_refused(exc: CSRFError) -> ResponseReturnValue:
    """A form without a valid token: from another site, or from a session long gone."""
    return _refused(
        _(
            "Refused: this form has no valid security token (it has expired or came from "
            "another website). Nothing was changed. Reload the page and try again."
        ),
        400,
    )


@bp.before_request
def _from_our_pages() -> ResponseReturnValue | None:
    if request.method == "POST" and not _same_origin():
        return _refused(
            _("Refused: this form was sent from another website. Nothing was changed."), 400
        )
    return None


# --- reading the forms --------------------------------------------------------------------------


def _whole(form: MultiDict[str, str], name: str) -> int | None:
    """A positive whole number from the form, else None."""
    value = form.get(name, "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 9 or int(value) < 1:
        return None
    return int(value)


def _values(form: MultiDict[str, str]) -> dict[str, str]:
    """What the person typed and chose, to fill the form in again."""
    return {name: form.get(name, "")[:200] for name in ("claim_code", "counter", "name")}


def _pending_key(form: MultiDict[str, str]) -> enrolment.Key:
    """The pending appliance a form is for (its key's id in the hidden field `key`)."""
    key_id = _whole(form, "key")
    if key_id is None:
        raise FormError(_("The form names no appliance waiting for approval."))
    key = enrolment.key_by_id(store(), key_id)
    if key is None:
        raise FormError(_("No appliance waiting for approval has this number."), 404)
    _still_pending(key)
    return key


def _still_pending(key: enrolment.Key) -> None:
    if key.state == "approved":
        raise FormError(
            _(
                "The appliance with the claim code %(code)s is already approved "
                "(appliance %(device)s): nothing was changed.",
                code=key.claim_code,
                device=key.device_id,
            ),
            409,
        )
    if key.state != "pending":
        raise FormError(
            _(
                "The appliance with the claim code %(code)s was rejected: it can no longer be "
                "approved. Set it up anew; it then shows a new claim code.",
                code=key.claim_code,
            ),
            409,
        )


def _not_pending(key: enrolment.Key) -> FormError:
    """Why the operation found no single pending appliance with the key's claim code."""
    now_key = enrolment.key_by_id(store(), key.id)
    if now_key is not None and now_key.state != "pending":
        try:
            _still_pending(now_key)
        except FormError as exc:
            return exc
    return FormError(
        _(
            "Several appliances waiting for approval show the claim code %(code)s: set one of "
            "them up anew (it then makes a new key with a new code) and approve the other.",
            code=key.claim_code,
        ),
        409,
    )


# --- pages --------------------------------------------------------------------------------------


def _fleet_page(error: FormError | None = None) -> ResponseReturnValue:
    at = now()
    stale = timedelta(seconds=3 * hub_settings().presence_seconds)
    entries = fleet(store(), at, stale)
    waiting = enrolment.pending(store())
    page = render_template(
        "fleet.html",
        entries=entries,
        waiting=waiting,
        counters=list_counters(store()) if waiting else [],
        totals=counts(entries),
        now=at,
        ago=ago,
        local_time=local_time,
        health=health_names(),
        states=action_states(),
        lang=current_language(),
        error=error,
        done=get_flashed_messages(),
    )
    return page, error.status if error else 200


@bp.get("/it/devices")
@limiter.limit(read_limit)
@_guarded
@require("devices", basic_realm=REALM)
def devices_page(staff: Staff) -> ResponseReturnValue:
    """The fleet as a table, and the appliances waiting for approval with their forms."""
    return _fleet_page()


@bp.post("/it/devices")
@limiter.limit(read_limit)
@_guarded
@require("devices", basic_realm=REALM)
def pending_form(staff: Staff) -> ResponseReturnValue:
    """A pending appliance's form: `do` approve or reject. Posted to the page's own address,
    so that the language switch of an answer leads back to the page."""
    form = request.form
    if form.get("do") == "approve":
        return _approve(staff, form)
    if form.get("do") == "reject":
        return _reject(staff, form)
    return _fleet_page(FormError(_("The form names no appliance waiting for approval.")))


def _approve(staff: Staff, form: MultiDict[str, str]) -> ResponseReturnValue:
    """Approve a pending appliance: IT typed the claim code its screen shows, chose its
    counter and (optionally) a name."""
    try:
        key = _pending_key(form)

        def refused(message: str, field: str) -> FormError:
            return FormError(message, field=field, key=key.id, values=_values(form))

        typed = form.get("claim_code", "").strip()
        if not typed:
            raise refused(_("Type the claim code the appliance's screen shows."), "claim_code")
        if normalise_claim_code(typed) != key.claim_code:
            message = _(
                "The claim code %(typed)s is not this appliance's (%(code)s). Compare it with "
                "the code on the screen of the appliance you are setting up.",
                typed=typed[:20],
                code=key.claim_code,
            )
            raise refused(message, "claim_code")
        counter = _whole(form, "counter")
        if counter is None:
            raise refused(_("Choose the counter this appliance serves."), "counter")
        name = form.get("name", "").strip()
        if len(name) > NAME_CHARS:
            message = _("The name is at most %(num)d characters long.", num=NAME_CHARS)
            raise refused(message, "name")
        try:
            approved = enrolment.approve(store(), typed, counter, name, by(staff), now())
            device_id = approved[1]
        except enrolment.NotPending:
            raise _not_pending(key) from None
        except AccountError:
            message = _("There is no counter %(id)d: choose one from the list.", id=counter)
            raise refused(message, "counter") from None
    except FormError as exc:
        return _fleet_page(exc)
    log.info("web:%s approved appliance %s as device %d", staff.username, key.claim_code, device_id)
    flash(
        _(
            "The appliance with the claim code %(code)s is approved (appliance %(device)d). "
            "It connects by itself within a few seconds.",
            code=key.claim_code,
            device=device_id,
        )
    )
    return redirect(url_for(".devices_page") + f"#device-{device_id}", 303)


def _reject(staff: Staff, form: MultiDict[str, str]) -> ResponseReturnValue:
    """Reject a pending appliance (its key is refused from now on), once confirmed."""
    try:
        key = _pending_key(form)
        if form.get("confirm") != "yes":
            raise FormError(
                _("Confirm that you want to reject this appliance: tick the box."),
                field="confirm",
                key=key.id,
                values=_values(form),
            )
        try:
            enrolment.reject(store(), key.claim_code, now())
        except enrolment.NotPending:
            raise _not_pending(key) from None
    except FormError as exc:
        return _fleet_page(exc)
    log.info("web:%s rejected pending appliance %s", staff.username, key.claim_code)
    flash(
        _(
            "The appliance with the claim code %(code)s is rejected: the hub refuses it from "
            "now on.",
            code=key.claim_code,
        )
    )
    return redirect(url_for(".devices_page"), 303)


def _entry(device_id: int) -> FleetEntry | None:
    stale = timedelta(seconds=3 * hub_settings().presence_seconds)
    return next((e for e in fleet(store(), now(), stale) if e.id == device_id), None)


def _unknown_device() -> ResponseReturnValue:
    return _refused(_("There is no appliance with this number."), 404)


def _device_page(
    entry: FleetEntry, error: FormError | None = None, confirm: str | None = None
) -> ResponseReturnValue:
    page = render_template(
        "fleet_device.html",
        e=entry,
        actions=remote.actions_of(store(), entry.id, SHOWN_ACTIONS),
        kinds=action_names(),
        states=action_states(),
        open_states=remote.OPEN,
        offered=PAGE_ACTIONS,
        confirm=confirm,
        now=now(),
        ago=ago,
        local_time=local_time,
        local_seconds=local_seconds,
        lang=current_language(),
        error=error,
        done=get_flashed_messages(),
    )
    return page, error.status if error else 200


@bp.get("/it/devices/<int:device_id>")
@limiter.limit(read_limit)
@_guarded
@require("devices", basic_realm=REALM)
def device_page(staff: Staff, device_id: int) -> ResponseReturnValue:
    """One appliance: its state, the actions IT may ask of it and its latest actions."""
    entry = _entry(device_id)
    return _unknown_device() if entry is None else _device_page(entry)


@bp.get("/it/devices/<int:device_id>/actions")
@limiter.limit(read_limit)
@_guarded
@require("devices", basic_realm=REALM)
def device_actions(staff: Staff, device_id: int) -> ResponseReturnValue:
    """The latest actions alone (fleet.js fetches them while one is open)."""
    if _entry(device_id) is None:
        return _unknown_device()
    return render_template(
        "_fleet_actions.html",
        device_id=device_id,
        actions=remote.actions_of(store(), device_id, SHOWN_ACTIONS),
        kinds=action_names(),
        states=action_states(),
        open_states=remote.OPEN,
        local_seconds=local_seconds,
    )


@bp.post("/it/devices/<int:device_id>")
@limiter.limit(read_limit)
@_guarded
@require("devices", basic_realm=REALM)
def ask_action(staff: Staff, device_id: int) -> ResponseReturnValue:
    """Ask the appliance to identify itself, restart or reboot. Restart and reboot wait for
    its call to end; forced, they need a second, confirming post."""
    entry = _entry(device_id)
    if entry is None:
        return _unknown_device()
    form = request.form
    kind = form.get("kind", "")
    if kind not in PAGE_ACTIONS:
        return _device_page(entry, FormError(_("Choose one of the actions below."), field="kind"))
    force = kind in FORCEABLE and form.get("force") == "yes"
    if force and form.get("confirmed") != "yes":
        return _device_page(entry, confirm=kind)  # the second step; nothing stored yet
    try:
        action = remote.request_action(
            store(), device_id, kind, requested_by=by(staff), now=now(), force=force
        )
    except remote.RemoteRefused as exc:
        if entry.state == "revoked":
            message = _("This appliance is revoked: it takes no actions.")
            return _device_page(entry, FormError(message, 409))
        return _device_page(entry, FormError(str(exc)))
    log.info("web:%s asked device %d to %s (action %d)", staff.username, device_id, kind, action.id)
    name = action_names()[kind]
    if force:
        text = _(
            "%(action)s requested (action %(id)d): at once, even during a call.",
            action=name,
            id=action.id,
        )
    elif kind in FORCEABLE:
        text = _(
            "%(action)s requested (action %(id)d): it waits until no call is under way.",
            action=name,
            id=action.id,
        )
    else:
        text = _("%(action)s requested (action %(id)d).", action=name, id=action.id)
    flash(text)
    return redirect(url_for(".device_page", device_id=device_id) + "#actions", 303)

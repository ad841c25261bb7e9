"""IT's fleet page: every appliance with its state, last heartbeat and devices, and those
offline while their counter is open flagged (the table of `buergeramt devices list`); below,
the appliances waiting for approval with their claim codes.

Staff of role admin only, by HTTP Basic as the cash office's page (hub/web/cash_office.py)
until the admin area of issue 18 replaces both.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from babel.dates import format_timedelta
from flask import Blueprint, Response, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from hub.booking.timezone import to_local_iso
from hub.context import hub_settings, now, store
from hub.i18n import current_language
from hub.operations.enrolment import pending
from hub.operations.fleet import counts, fleet
from hub.ratelimit import limiter, read_limit
from hub.web.cash_office import _guarded, _staff

bp = Blueprint("fleet_page", __name__, template_folder="templates")
REALM = 'Basic realm="Buergeramt IT", charset="UTF-8"'


def _challenge() -> Response:
    answer = Response(
        _("Sign in with an administrator's account.") + "\n", status=401, mimetype="text/plain"
    )
    answer.headers["WWW-Authenticate"] = REALM
    return answer


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


def health_names() -> dict[str, str]:
    """A device's health as the page names it."""
    return {
        "ok": _("present and delivering"),
        "stalled": _("delivers nothing"),
        "off": _("switched off"),
        "absent": _("not present"),
    }


@bp.get("/it/devices")
@limiter.limit(read_limit)
@_guarded
def devices_page() -> ResponseReturnValue:
    """The fleet as a table, refreshed by the browser every 30 s."""
    if _staff() is None:
        return _challenge()
    at = now()
    stale = timedelta(seconds=3 * hub_settings().presence_seconds)
    entries = fleet(store(), at, stale)
    return render_template(
        "fleet.html",
        entries=entries,
        waiting=pending(store()),
        totals=counts(entries),
        now=at,
        ago=ago,
        local_time=local_time,
        health=health_names(),
        lang=current_language(),
    )

"""The cash office's page: the day's payment requests reconciled against the payment platform,
the day's totals, and the CSV export for the Kassenverfahren.

Administrators only: signed in to the admin area (without a session a browser is sent to its
sign-in, another role gets its no-access page), or a script sending HTTP Basic credentials of
such an account; failed attempts are rate-limited per client address, and no answer may be
cached (the security headers' `Cache-Control: no-store`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.numbers import format_currency
from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from hub.booking.timezone import in_calendar, local_date
from hub.context import now, payment_provider, store
from hub.i18n import current_language
from hub.operations import cash_office
from hub.operations.accounts import Staff
from hub.ratelimit import limiter, read_limit, write_limit
from hub.web.admin.session import navigation, require

bp = Blueprint("cash_office", __name__, template_folder="templates")
bp.context_processor(navigation)
REALM = "Buergeramt Kasse"  # HTTP Basic, for scripts


def _day() -> date | None:
    """?date=YYYY-MM-DD, today in Berlin when absent, None when it is no date."""
    value = request.args.get("date", "")
    if not value:
        return local_date(now())
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day if len(value) == 10 and in_calendar(day) else None


def state_names() -> dict[str, str]:
    """Our states and the platform's, as the page names them."""
    return {
        "requested": _("requested"),
        "pending": _("open"),
        "paid": _("paid"),
        "failed": _("failed"),
        "cancelled": _("cancelled"),
        "expired": _("expired"),
    }


def euro(cents: int | None) -> str:
    """An amount as people of the page's language write it."""
    if cents is None:
        return "–"
    return format_currency(Decimal(cents) / 100, "EUR", locale=current_language())


# Failed credentials count against the booking limit (10 a minute per address by default):
# password guessing stays slow, while a signed-in cash office is held only by the read limit.
_guarded = limiter.limit(write_limit, deduct_when=lambda answer: answer.status_code == 401)


@bp.get("/office/payments")
@limiter.limit(read_limit)
@_guarded
@require("cash", basic_realm=REALM)
def payments_page(staff: Staff) -> ResponseReturnValue:
    """The reconciliation of a day with its differences, the totals and the export's link."""
    day = _day()
    if day is None:
        page = render_template("cash_office.html", day=None, bad_date=True, lang=current_language())
        return page, 422
    start, end = cash_office.day_span(day)
    result = cash_office.reconcile(store(), payment_provider(), start, end, now())
    rows = cash_office.daily_export(store(), day)
    return render_template(
        "cash_office.html",
        day=day,
        bad_date=False,
        result=result,
        export_count=len(rows),
        export_cents=sum(row.amount_cents for row in rows),
        euro=euro,
        states=state_names(),
        lang=current_language(),
        configured=payment_provider() is not None,
    )


@bp.get("/office/payments.csv")
@limiter.limit(read_limit)
@_guarded
@require("cash", basic_realm=REALM)
def payments_csv(staff: Staff) -> ResponseReturnValue:
    """The day's export for the Kassenverfahren (docs/operations.md, Kasse / cash office)."""
    day = _day()
    if day is None:
        text = _("The date is not of the form YYYY-MM-DD.") + "\n"
        return Response(text, 422, mimetype="text/plain")
    data = cash_office.export_csv(cash_office.daily_export(store(), day)).encode("utf-8")
    answer = Response(data, mimetype="text/csv")
    answer.headers["Content-Type"] = "text/csv; charset=utf-8"
    answer.headers["Content-Disposition"] = f'attachment; filename="kasse-{day.isoformat()}.csv"'
    return answer

"""The cash office's page: the day's payment requests reconciled against the payment platform,
the day's totals, and the CSV export for the Kassenverfahren.

Staff of role admin only, by HTTP Basic against their hub account until issue 18 brings the
admin sign-in with sessions; failed attempts are rate-limited per client address, and no
answer may be cached (the security headers' `Cache-Control: no-store`).
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
from hub.operations.accounts import Staff, verify_staff
from hub.ratelimit import limiter, read_limit, write_limit

bp = Blueprint("cash_office", __name__, template_folder="templates")
REALM = 'Basic realm="Buergeramt Kasse", charset="UTF-8"'


def _staff(area: str = "cash") -> Staff | None:
    """Who asks: a person signed in to the admin area whose role opens `area`, or a script
    (and older bookmarks) with HTTP Basic of such an account."""
    from hub.web.admin.session import AREAS, may, signed_in

    staff = signed_in()
    if staff is not None and may(staff, area):
        return staff
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username or auth.password is None:
        return None
    return verify_staff(store(), auth.username, auth.password, AREAS[area])


def _challenge() -> Response:
    answer = Response(
        _("Sign in with an administrator's account.") + "\n",
        status=401,
        mimetype="text/plain",
    )
    answer.headers["WWW-Authenticate"] = REALM
    return answer


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
def payments_page() -> ResponseReturnValue:
    """The reconciliation of a day with its differences, the totals and the export's link."""
    if _staff() is None:
        return _challenge()
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
def payments_csv() -> ResponseReturnValue:
    """The day's export for the Kassenverfahren (docs/operations.md, Kasse / cash office)."""
    if _staff() is None:
        return _challenge()
    day = _day()
    if day is None:
        text = _("The date is not of the form YYYY-MM-DD.") + "\n"
        return Response(text, 422, mimetype="text/plain")
    data = cash_office.export_csv(cash_office.daily_export(store(), day)).encode("utf-8")
    answer = Response(data, mimetype="text/csv")
    answer.headers["Content-Type"] = "text/csv; charset=utf-8"
    answer.headers["Content-Disposition"] = f'attachment; filename="kasse-{day.isoformat()}.csv"'
    return answer

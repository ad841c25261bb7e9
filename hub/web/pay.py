"""The citizen's way to the payment platform and back: `/pay/<token>` (the call page's "pay"
button and the pay-later mail) and `/pay/<token>/back` (where the platform sends them).

The token is the request's id signed by the hub (hub.links), so it names one request and no
other. Both routes read the state from the platform first (the return itself proves nothing,
hub.operations.payments), then send the citizen on to pay, or show where the payment stands.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template
from flask.typing import ResponseReturnValue
from flask_babel import format_currency
from flask_babel import gettext as _

from hub.context import hub_settings, payment_provider
from hub.i18n import current_language
from hub.links import payment_of
from hub.operations.payments import PaymentRequestRefused, PaymentRequestView
from hub.ratelimit import limiter, read_limit, write_limit
from hub.realtime.payments import brought_up_to_date

bp = Blueprint("pay", __name__, url_prefix="/pay")


def _payment(token: str) -> PaymentRequestView:
    """The request the token names, brought up to date; 404 for a token not ours."""
    payment_id = payment_of(hub_settings().effective_secret_key(), token)
    if payment_id is None:
        abort(404)
    try:
        return brought_up_to_date(payment_id)
    except PaymentRequestRefused:  # signed here, but gone (the appointment's data was deleted)
        abort(404)


def _page(payment: PaymentRequestView, token: str, back: bool) -> ResponseReturnValue:
    response = render_template(
        "pay.html",
        lang=current_language(),
        payment=payment,
        token=token,
        back=back,
        online=payment_provider() is not None,
        euros=lambda cents: format_currency(cents / 100, "EUR"),
    )
    return response, 200, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@bp.get("/<token>")
@limiter.limit(write_limit)  # each visit asks the platform
def pay(token: str) -> ResponseReturnValue:
    """On to the platform's page while the request is open; otherwise where it stands."""
    payment = _payment(token)
    if payment.state == "pending" and payment.pay_url:
        return redirect(payment.pay_url, 303)
    return _page(payment, token, back=False)


@bp.get("/<token>/back")
@limiter.limit(write_limit)
def back(token: str) -> ResponseReturnValue:
    """The platform sent the citizen back: show the state the hub read itself."""
    return _page(_payment(token), token, back=True)


@bp.get("/<token>/state")
@limiter.limit(read_limit)  # the waiting page asks every few seconds
def state(token: str) -> ResponseReturnValue:
    """The request's state for the page's script, while it waits for the platform."""
    payment = _payment(token)
    return (
        jsonify({"state": payment.state, "final": payment.final}),
        200,
        {"Cache-Control": "no-store"},
    )


def panel_messages() -> dict[str, str]:
    """Texts of the call page's fees panel (static/payments.js), in the page's language."""
    return {
        "requested": _("being prepared"),
        "pending": _("please pay"),
        "paid": _("paid"),
        "failed": _("not paid: the payment did not go through"),
        "cancelled": _("withdrawn by the office"),
        "expired": _("expired"),
        "pay": _("Pay %(amount)s", amount="{amount}"),
        "pay_hint": _("Opens the payment page in a new window; the call goes on here."),
        "asked": _("The clerk asks you to pay %(amount)s.", amount="{amount}"),
        "paid_news": _("Paid: %(amount)s. Thank you!", amount="{amount}"),
        "failed_news": _("The payment of %(amount)s did not go through.", amount="{amount}"),
        "receipt": _("The receipt is in your documents."),
        "by_mail": _("Sent to you by e-mail to pay later."),
        "total": _("Total"),
    }

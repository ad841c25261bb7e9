"""Fees in the call over Socket.IO: payment requests as the protocol shows them, the news that
tells both parties of a call when one is made or changes state, and the clerk's commands
(hub.operations.payments does the work; this module only speaks for it)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Connection

from hub.booking.timezone import to_local_iso
from hub.context import hub_settings, now, payment_provider, store
from hub.links import pay_return_url, pay_url
from hub.notify.payment_mail import enqueue_payment_mail
from hub.operations.fees import list_fee_items
from hub.operations.payments import (
    PaymentRequestRefused,
    PaymentRequestView,
    cancel_payment,
    payment,
    payments,
    refresh,
    request_by_mail,
    request_payment,
)
from hub.operations.receipts import file_receipt
from hub.payments.provider import PaymentProvider, PaymentState
from hub.realtime.notices import APPLIANCE, CITIZEN, appliance_room, citizen_room, tell_documents
from hub.store.models import AppointmentRow
from protocol.payments import (
    CallPayments,
    CitizenPayment,
    FeeOption,
    LineWanted,
    PaymentAnswer,
    PaymentLine,
    Payments,
    PaymentsListed,
    PaymentView,
)


def payment_view(payment: PaymentRequestView) -> PaymentView:
    """One request as clerk and citizen see it."""
    return PaymentView(
        id=str(payment.id),
        state=payment.state,
        channel=payment.channel,
        total_cents=payment.total_cents,
        lines=[
            PaymentLine(
                code=line.code,
                label_de=line.label_de,
                label_en=line.label_en,
                quantity=line.quantity,
                unit_cents=line.unit_cents,
                total_cents=line.total_cents,
            )
            for line in payment.lines
        ],
        created_at=to_local_iso(payment.created_at),
        expires_at=to_local_iso(payment.expires_at),
        final_at=to_local_iso(payment.final_at) if payment.final_at else None,
        receipt=str(payment.receipt_document_id) if payment.receipt_document_id else None,
    )


def citizen_payments(appointment: uuid.UUID) -> Payments:
    """The appointment's requests for its citizen's page; an open one with its pay link."""
    settings = hub_settings()
    secret = settings.effective_secret_key()

    def shown(payment: PaymentRequestView) -> CitizenPayment:
        link = None if payment.final else pay_url(settings.public_url, secret, payment.id)
        return CitizenPayment(pay_link=link, **payment_view(payment).model_dump())

    return Payments(payments=[shown(p) for p in payments(store(), appointment)])


def call_payments(appointment: uuid.UUID) -> CallPayments:
    """What the clerk of the call can ask for, and what was asked."""
    with store().transaction() as session:
        row = session.get(AppointmentRow, appointment)
        service = row.service_id if row is not None else None
    fees = list_fee_items(store(), service) if service is not None else ()
    return CallPayments(
        appointment=str(appointment),
        online=payment_provider() is not None,
        fees=[
            FeeOption(
                code=item.code,
                label_de=item.label_de,
                label_en=item.label_en,
                amount_cents=item.amount_cents,
                variable_quantity=item.variable_quantity,
            )
            for item in fees
        ],
        payments=[payment_view(p) for p in payments(store(), appointment)],
    )


def tell_payments(appointment: uuid.UUID) -> None:
    """A request was made, changed state or got its receipt: tell both parties of the call,
    wherever they are connected."""
    sio = current_app.extensions["socketio"]
    sio.emit(
        "payments",
        citizen_payments(appointment).wire(),
        to=citizen_room(appointment),
        namespace=CITIZEN,
    )
    sio.emit(
        "payments",
        call_payments(appointment).wire(),
        to=appliance_room(appointment),
        namespace=APPLIANCE,
    )


# ---- the clerk's commands (the /appliance handlers call these) -------------------------------


def _provider() -> PaymentProvider:
    provider = payment_provider()
    if provider is None:
        raise PaymentRequestRefused("no_platform", "this hub has no payment platform configured")
    return provider


def _return_url(payment_id: uuid.UUID) -> str:
    settings = hub_settings()
    return pay_return_url(settings.public_url, settings.effective_secret_key(), payment_id)


def _of_call(appointment: uuid.UUID, payment_id: uuid.UUID) -> None:
    """Refuse a request of another appointment as one that does not exist."""
    if payment(store(), payment_id).appointment_id != appointment:
        raise PaymentRequestRefused("not_found", "no such payment request")


def _answer(view: PaymentRequestView) -> dict[str, Any]:
    changed(view.appointment_id)
    return PaymentAnswer(payment=payment_view(view)).wire()


def listed(appointment: uuid.UUID) -> dict[str, Any]:
    """`payment_list`: the call's fee items and requests."""
    return PaymentsListed(**call_payments(appointment).model_dump()).wire()


def request(appointment: uuid.UUID, lines: Sequence[LineWanted], clerk_id: int) -> dict[str, Any]:
    """`payment_request`: store the request, ask the platform, tell both parties."""
    view = request_payment(
        store(),
        _provider(),
        appointment,
        [(line.code, line.quantity) for line in lines],
        clerk_id=clerk_id,
        now=now(),
        redirect_url=_return_url,
        expiry=timedelta(minutes=hub_settings().payment_expiry_minutes),
    )
    return _answer(view)


def cancel(appointment: uuid.UUID, payment_id: uuid.UUID, clerk_id: int) -> dict[str, Any]:
    """`payment_cancel`: withdraw an unpaid request (one paid meanwhile stays paid)."""
    _of_call(appointment, payment_id)
    result = cancel_payment(store(), _provider(), payment_id, clerk_id=clerk_id, now=now())
    return _answer(result.payment)


def by_mail(appointment: uuid.UUID, payment_id: uuid.UUID, clerk_id: int) -> dict[str, Any]:
    """`payment_mail`: the lines again as a pay-later link by e-mail."""
    _of_call(appointment, payment_id)

    def mail(conn: Connection, appointment_id: uuid.UUID, new_id: uuid.UUID) -> None:
        enqueue_payment_mail(conn, appointment_id, new_id, "payment", now())

    view = request_by_mail(
        store(),
        _provider(),
        payment_id,
        clerk_id=clerk_id,
        now=now(),
        redirect_url=_return_url,
        expiry=timedelta(days=hub_settings().payment_mail_days),
        enqueue=mail,
    )
    return _answer(view)


def changed(appointment: uuid.UUID) -> None:
    """Requests of the appointment changed: tell both parties."""
    tell_payments(appointment)


def brought_up_to_date(payment_id: uuid.UUID) -> PaymentRequestView:
    """Read the request's state from the platform now (the citizen came back from its page, or
    opened the pay link) and tell both parties of a change at once; then file the receipt of
    one that became paid and tell them again. Without a platform it is shown as it stands."""
    provider = payment_provider()
    before = payment(store(), payment_id)
    if provider is None:
        return before
    after = refresh(store(), provider, payment_id, now()).payment
    if after.state != before.state:
        tell_payments(after.appointment_id)
    unfiled = after.state == PaymentState.PAID.value and after.receipt_document_id is None
    if unfiled and file_receipt(store(), hub_settings(), payment_id, now()) is not None:
        after = payment(store(), payment_id)
        tell_documents(after.appointment_id)
        tell_payments(after.appointment_id)
    return after

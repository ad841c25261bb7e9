"""Fees paid in the call: what the clerk may ask for (the service's fee items), the requests
made and where each stands. Amounts are integer cents in euros, always the hub's: a request
names item codes and quantities only, so no party but the catalogue sets a price."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from protocol.base import News, Request, absent_when_null
from protocol.limits import AppointmentId, PaymentId

PaymentState = Literal["requested", "pending", "paid", "failed", "cancelled", "expired"]
Channel = Literal["call", "mail"]  # shown on the call page, or sent as a pay-later link
MAX_LINES = 99
MAX_QUANTITY = 99


class FeeOption(News):
    """A fee item of the call's service that the clerk can ask for."""

    code: str
    label_de: str
    label_en: str
    amount_cents: int
    variable_quantity: bool  # the clerk may ask for more than one


class PaymentLine(News):
    """One line of a request, priced when the clerk made it."""

    code: str
    label_de: str
    label_en: str
    quantity: int
    unit_cents: int
    total_cents: int


class PaymentView(News):
    """One payment request and its state; a state other than `requested` and `pending` never
    changes again."""

    id: str
    state: PaymentState
    channel: Channel
    total_cents: int
    lines: list[PaymentLine]
    created_at: str  # ISO 8601, Europe/Berlin
    expires_at: str
    final_at: str | None
    receipt: str | None  # the receipt's document id, once paid and filed


class CitizenPayment(PaymentView):
    """The same on the citizen's page, with the link that leads to the payment platform
    while the request is open (it is the citizen's own: signed by the hub)."""

    pay_link: str | None = absent_when_null()


class Payments(News):
    """The appointment's payment requests, whenever one is made or changes state."""

    payments: list[CitizenPayment]


class CallPayments(News):
    """To an appliance for a call it holds: what can be asked for, and what was."""

    appointment: AppointmentId
    online: bool  # a payment platform is configured; without one nothing can be requested
    fees: list[FeeOption]
    payments: list[PaymentView]


class LineWanted(Request):
    """An item of the service's fees and how many."""

    code: str = Field(pattern=r"^[\w-]{1,36}$")
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class RequestPayment(Request):
    """The clerk asks the citizen of a held call to pay these lines."""

    appointment: AppointmentId
    lines: list[LineWanted] = Field(min_length=1, max_length=MAX_LINES)


class OnPayment(Request):
    """Cancel an unpaid request, or send it again as a pay-later link by e-mail."""

    appointment: AppointmentId
    payment: PaymentId


class PaymentsListed(CallPayments):
    """`payment_list` done: the call's fee items and requests."""

    ok: Literal[True] = True


class PaymentAnswer(News):
    """The request as it stands after the clerk's command."""

    ok: Literal[True] = True
    payment: PaymentView

"""Reading what a receipt says (hub.payments.receipt.ReceiptFacts) from a stored payment request,
its appointment and the catalogue: the one place both the filing (hub.operations.receipts) and
the receipt mail (hub.notify.outbox) take it from, so the two make the same PDF."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy.orm import Session

from hub.booking.catalogue import Service
from hub.booking.timezone import BERLIN
from hub.payments.receipt import Issuer, ReceiptFacts, ReceiptLine
from hub.store.models import AppointmentRow, PaymentRequestRow


def _line(stored: Mapping[str, object]) -> ReceiptLine:
    """A line as hub.operations.payments.RequestedLine stored it (JSON)."""
    return ReceiptLine(
        label=str(stored["label_de"]),
        quantity=int(stored["quantity"]),  # type: ignore[call-overload]
        unit_cents=int(stored["unit_cents"]),  # type: ignore[call-overload]
        kassenzeichen=str(stored.get("kassenzeichen") or ""),
        haushaltsstelle=str(stored.get("haushaltsstelle") or ""),
    )


def appointment_reference(appointment: AppointmentRow) -> str:
    """How the receipt names the appointment: its time in Berlin and its id."""
    start = appointment.start_at.astimezone(BERLIN)
    return f"{start:%d.%m.%Y, %H:%M} · {appointment.id}"


def receipt_facts(
    session: Session, services: Mapping[str, Service], issuer: Issuer, payment_id: uuid.UUID
) -> ReceiptFacts | None:
    """What the receipt of the payment request says, or None unless it is paid."""
    row = session.get(PaymentRequestRow, payment_id)
    if row is None or row.state != "paid" or row.final_at is None:
        return None
    appointment = session.get(AppointmentRow, row.appointment_id)
    if appointment is None:
        return None
    service = services.get(appointment.service_id)
    return ReceiptFacts(
        office_name=issuer.name,
        office_address=issuer.address,
        service_name=service.name_de if service else appointment.service_id,
        lines=tuple(_line(line) for line in row.lines),
        paid_at=row.final_at,
        transaction_id=row.transaction_id or "",
        request_id=row.request_id,
        appointment_reference=appointment_reference(appointment),
    )

"""Mails about a payment request: the pay-later link ("payment") and the receipt ("receipt").

Written into the same outbox as the appointment's other mails, in the caller's transaction, so
a request and its mail exist together or not at all. They carry no manage link: the payment
request (`payment_id`) is what they are about.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection

from hub.store.models import MailRow

MAILS = MailRow.__table__
PaymentMail = Literal["payment", "receipt"]
PAYMENT_MAILS: tuple[PaymentMail, ...] = ("payment", "receipt")


def enqueue_payment_mail(
    conn: Connection,
    appointment_id: uuid.UUID,
    payment_id: uuid.UUID,
    kind: PaymentMail,
    now: datetime,
) -> None:
    """Schedule the mail `kind` about the payment request for now."""
    if kind not in PAYMENT_MAILS:
        raise ValueError(f"not a payment mail: {kind!r}")
    conn.execute(
        MAILS.insert().values(
            appointment_id=appointment_id,
            payment_id=payment_id,
            kind=kind,
            due_at=now,
            status="pending",
            attempts=0,
            last_error="",
            sealed_token="",
            revision=0,
        )
    )

"""Receipts of paid payment requests: the PDF (hub.payments.receipt) filed among the
appointment's documents, as the clerk's, and mailed to the citizen (issue 16 point 5).

A request gets one receipt. Filing a file takes its own transaction (hub.operations.documents),
so two processes may both file one; the request then takes the first, by an UPDATE guarded on
`receipt_document_id IS NULL`, and the other deletes its copy. The receipt mail is queued in the
transaction of that UPDATE: a receipt recorded is a receipt mailed, once.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import select, update

from hub.booking.status import Status
from hub.config import Settings
from hub.documents.errors import DocumentRefused
from hub.notify.payment_mail import enqueue_payment_mail
from hub.operations.document_intake import work_file
from hub.operations.documents import add_file, config_of, delete_document
from hub.payments.receipt import Issuer, receipt_name, receipt_pdf
from hub.store import Store
from hub.store.engine import retrying
from hub.store.models import AppointmentRow, PaymentRequestRow
from hub.store.receipts import receipt_facts

log = logging.getLogger("hub.payments")
REQUESTS = PaymentRequestRow.__table__
APPOINTMENTS = AppointmentRow.__table__


def issuer(settings: Settings) -> Issuer:
    """The office the settings name as the receipts' issuer."""
    return Issuer.of(settings.office_name, settings.office_address)


def _file(
    store: Store, settings: Settings, payment_id: uuid.UUID, now: datetime
) -> tuple[uuid.UUID | None, bool]:
    """The receipt's document id (None unless paid), and whether this call filed it."""
    # Read before the transaction: on SQLite a second connection inside it would wait for the
    # first one's lock (a cold catalogue cache reads the database).
    services = store.catalogue().services
    with store.transaction() as session:
        row = session.get(PaymentRequestRow, payment_id)
        if row is None:
            return None, False
        if row.receipt_document_id is not None:
            return row.receipt_document_id, False
        facts = receipt_facts(session, services, issuer(settings), payment_id)
        appointment_id, clerk_id = row.appointment_id, row.clerk_id
    if facts is None:
        return None, False
    # The clerk who asked for the fee files its receipt (the documents' access log says so).
    actor = f"clerk:{clerk_id}" if clerk_id is not None else "admin"
    with work_file(config_of(store)) as path:
        path.write_bytes(receipt_pdf(facts))
        document = add_file(
            store,
            appointment_id,
            path,
            name=receipt_name(facts),
            item=None,
            sender="clerk",
            actor=actor,
            now=now,
        )

    def record() -> bool:
        with store.engine.begin() as conn:
            taken = conn.execute(
                update(REQUESTS)
                .where(REQUESTS.c.id == payment_id, REQUESTS.c.receipt_document_id.is_(None))
                .values(receipt_document_id=document.id)
            )
            if taken.rowcount != 1:
                return False
            enqueue_payment_mail(conn, appointment_id, payment_id, "receipt", now)
            return True

    if retrying(record):
        log.info("payment %s: receipt %s filed", payment_id, document.id)
        return document.id, True
    # Another process filed it first: ours goes, theirs stays.
    delete_document(store, appointment_id, document.id, actor=actor, now=now)
    with store.engine.connect() as conn:
        kept = conn.scalar(
            select(REQUESTS.c.receipt_document_id).where(REQUESTS.c.id == payment_id)
        )
    return kept, False


def file_receipt(
    store: Store, settings: Settings, payment_id: uuid.UUID, now: datetime
) -> uuid.UUID | None:
    """File the receipt of a paid request and queue its mail; the receipt's document id (the
    one filed before, when there is one), or None while the request is not paid."""
    return _file(store, settings, payment_id, now)[0]


def file_receipts(store: Store, settings: Settings, now: datetime) -> set[uuid.UUID]:
    """A receipt for every paid request still without one; the appointments that got one.

    Requests of a withdrawn appointment, or one whose documents are past their retention
    period, are left out: they could not take a file (and would be tried every round)."""
    kept_since = now - config_of(store).retention
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(REQUESTS.c.id, REQUESTS.c.appointment_id)
            .join(APPOINTMENTS, APPOINTMENTS.c.id == REQUESTS.c.appointment_id)
            .where(
                REQUESTS.c.state == "paid",
                REQUESTS.c.receipt_document_id.is_(None),
                APPOINTMENTS.c.status.not_in((Status.CANCELLED, Status.RELEASED)),
                APPOINTMENTS.c.end_at > kept_since,
            )
            .order_by(REQUESTS.c.final_at)
        ).all()
    filed: set[uuid.UUID] = set()
    for payment_id, appointment_id in rows:
        try:
            document_id, mine = _file(store, settings, payment_id, now)
        except DocumentRefused as refusal:
            log.error("payment %s: receipt refused (%s): %s", payment_id, refusal.code, refusal)
            continue
        except Exception:  # one receipt's trouble must not stop the others
            log.exception("payment %s: receipt not filed", payment_id)
            continue
        if mine and document_id is not None:
            filed.add(appointment_id)
    return filed

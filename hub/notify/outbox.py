"""The mail outbox: mails are written in the same transaction as the booking change that causes
them, then delivered by a worker with retries. Nothing is lost if the mail server is down, and a
restart neither loses nor repeats a mail (bar one crash between sending and recording it)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Connection

from hub.booking.status import Status
from hub.links import booking_url, links_for, pay_url
from hub.notify.closure_mail import CLOSURE_MAIL, ClosureMailFacts, compose_closure
from hub.notify.compose import MailFacts, compose
from hub.notify.payment_compose import PaymentMailFacts, PaymentMailLine, compose_payment
from hub.notify.payment_mail import PAYMENT_MAILS
from hub.notify.sealing import Sealer
from hub.notify.transport import Transport
from hub.payments.receipt import Issuer, receipt_name, receipt_pdf
from hub.store import Store
from hub.store.catalogue import to_service
from hub.store.models import AppointmentRow, MailRow, PaymentRequestRow, ServiceRow
from hub.store.receipts import receipt_facts

log = logging.getLogger(__name__)
MAILS = MailRow.__table__
CLAIM = timedelta(minutes=2)  # a claimed mail is retried by others after this, e.g. on a crash
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class MailPolicy:
    """What to send when, and how to keep the links."""

    sealer: Sealer
    public_url: str
    sender: str
    reminder_leads: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=1))
    join_before_minutes: int = 15  # the mails say from when the join link opens the lobby
    secret_key: str = ""  # signs the pay-later mail's link (hub.links.pay_url)
    issuer: Issuer = field(default_factory=Issuer)  # who the receipts name

    def enqueue(
        self,
        conn: Connection,
        appointment_id: uuid.UUID,
        manage_token: str,
        kind: str,
        start: datetime,
        now: datetime,
        revision: int,
    ) -> None:
        """Schedule the mail for a change (now) and, unless cancelled, the reminders before
        `start`; reminders planned for an earlier time are withdrawn."""
        if kind not in ("hold", "confirmation") or revision:  # a new booking has none yet
            conn.execute(
                update(MAILS)
                .where(
                    MAILS.c.appointment_id == appointment_id,
                    MAILS.c.status == "pending",
                    MAILS.c.kind == "reminder",
                )
                .values(status="cancelled")
            )
        sealed = self.sealer.seal(manage_token)
        due = [(kind, now)]
        if kind in ("confirmation", "rescheduled"):
            due += [
                ("reminder", start - lead) for lead in self.reminder_leads if start - lead > now
            ]
        rows = [
            {
                "appointment_id": appointment_id,
                "kind": k,
                "due_at": at,
                "status": "pending",
                "attempts": 0,
                "last_error": "",
                "sealed_token": sealed,
                "revision": revision,
            }
            for k, at in due
        ]
        conn.execute(MAILS.insert().values(rows))  # one statement for all of them


@dataclass
class DeliveryReport:
    """What one round of delivery did."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    withdrawn: list[int] = field(default_factory=list)


def _claim(store: Store, now: datetime, batch: int) -> list[int]:
    due = and_(
        MAILS.c.status == "pending",
        MAILS.c.due_at <= now,
        or_(MAILS.c.claimed_until.is_(None), MAILS.c.claimed_until < now),
    )
    with store.engine.begin() as conn:
        query = select(MAILS.c.id).where(due).order_by(MAILS.c.due_at).limit(batch)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)  # several hub processes share work
        ids = list(conn.scalars(query))
        if ids:
            conn.execute(
                update(MAILS)
                .where(MAILS.c.id.in_(ids))
                .values(claimed_until=now + CLAIM, attempts=MAILS.c.attempts + 1)
            )
    return ids


def _facts(store: Store, policy: MailPolicy, mail: MailRow, appt: AppointmentRow) -> MailFacts:
    links = links_for(policy.public_url, policy.sealer.unseal(mail.sealed_token))
    service = store.catalogue().services.get(appt.service_id)
    if service is None:
        raise LookupError(f"service {appt.service_id} is no longer offered")
    return MailFacts(
        kind=mail.kind,
        to=appt.email,
        name=appt.name,
        lang=appt.locale,
        service=service,
        appointment_id=appt.id,
        start=appt.start_at,
        end=appt.end_at,
        manage_url=links.manage,
        join_url=links.join,
        sequence=mail.revision,
        hold_until=appt.hold_until,
        join_before_minutes=policy.join_before_minutes,
        reason=(appt.cancel_reason or "") if mail.kind == "cancelled" else "",
    )


def _closure_facts(
    store: Store, policy: MailPolicy, mail: MailRow, appt: AppointmentRow
) -> ClosureMailFacts:
    offered = store.catalogue().services.get(appt.service_id)
    service = offered
    if service is None:  # no longer offered: the mail names it, the link offers the others
        with store.transaction() as session:
            row = session.get(ServiceRow, appt.service_id)
            if row is None:
                raise LookupError(f"service {appt.service_id} is gone")
            service = to_service(row)
    return ClosureMailFacts(
        to=appt.email,
        name=appt.name,
        lang=appt.locale,
        service=service,
        appointment_id=appt.id,
        start=appt.start_at,
        end=appt.end_at,
        book_url=booking_url(policy.public_url, offered.id if offered else None, appt.locale),
        sequence=mail.revision,
    )


def _payment_facts(
    store: Store, policy: MailPolicy, mail: MailRow, appt: AppointmentRow, row: PaymentRequestRow
) -> PaymentMailFacts:
    service = store.catalogue().services.get(appt.service_id)
    lang = "en" if appt.locale == "en" else "de"
    lines = tuple(
        PaymentMailLine(
            str(line["label_de"]),
            str(line.get("label_en") or ""),
            int(line["quantity"]),  # type: ignore[call-overload]
            int(line["unit_cents"]),  # type: ignore[call-overload]
        )
        for line in row.lines
    )
    facts = PaymentMailFacts(
        kind=mail.kind,
        to=appt.email,
        name=appt.name,
        lang=lang,
        service_name=service.name(lang) if service else appt.service_id,
        lines=lines,
        total_cents=row.total_cents,
    )
    if mail.kind == "payment":
        if not policy.secret_key:
            raise ValueError("the mail policy has no secret key to sign pay links with")
        return replace(
            facts,
            pay_url=pay_url(policy.public_url, policy.secret_key, row.id),
            expires_at=row.expires_at,
        )
    # The receipt is made again rather than read back from the documents: the same facts give
    # the same bytes as were filed (hub.payments.receipt), while the filed copy may be gone by
    # the time a retried mail goes out (documents' retention, a clerk's delete), and reading it
    # would log an access that no person made.
    services = store.catalogue().services  # before the transaction: SQLite would wait on it
    with store.transaction() as session:
        receipt = receipt_facts(session, services, policy.issuer, row.id)
    if receipt is None:
        raise LookupError(f"payment request {row.id} is not paid")
    return replace(
        facts,
        paid_at=receipt.paid_at,
        transaction_id=receipt.transaction_id,
        receipt=receipt_pdf(receipt),
        receipt_name=receipt_name(receipt),
    )


def _payment_stale(mail: MailRow, row: PaymentRequestRow | None) -> bool:
    """A pay link only for a request still open; a receipt only for one paid."""
    if row is None:
        return True
    if mail.kind == "payment":
        return row.state not in ("requested", "pending")
    return row.state != "paid"


def _record(store: Store, mail_id: int, **values: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(MAILS).where(MAILS.c.id == mail_id).values(**values))


def deliver_due(
    store: Store, policy: MailPolicy, transport: Transport, now: datetime, batch: int = 50
) -> DeliveryReport:
    """Send every mail that is due; failures are retried later, then marked failed.

    No transaction stays open while a mail server is talked to (on SQLite that would hold the
    write lock and stall bookings).
    """
    report = DeliveryReport()
    for mail_id in _claim(store, now, batch):
        with store.transaction() as session:
            mail = session.get(MailRow, mail_id)
            appt = session.get(AppointmentRow, mail.appointment_id) if mail else None
            payment = (
                session.get(PaymentRequestRow, mail.payment_id)
                if mail is not None and mail.payment_id is not None
                else None
            )
        assert mail is not None and appt is not None
        # A reminder only for a booking still to come; the hold mail only while it is held.
        stale = (
            mail.kind == "reminder" and (appt.status != Status.BOOKED or appt.start_at <= now)
        ) or (mail.kind == "hold" and appt.status != Status.HELD)
        if mail.kind in PAYMENT_MAILS:
            stale = _payment_stale(mail, payment)
        if stale:
            _record(store, mail_id, status="cancelled", claimed_until=None)
            report.withdrawn.append(mail_id)
            continue
        try:
            key = f"{mail.id}.{mail.appointment_id}"
            if payment is not None:  # a payment mail: no manage link (sealed_token is empty)
                facts = _payment_facts(store, policy, mail, appt, payment)
                message = compose_payment(facts, policy.sender, now, key)
            elif mail.kind == CLOSURE_MAIL:
                facts_closed = _closure_facts(store, policy, mail, appt)
                message = compose_closure(facts_closed, policy.sender, now, key)
            else:
                message = compose(_facts(store, policy, mail, appt), policy.sender, now, key)
            transport.send(message)
        except Exception as exc:
            log.warning(
                "mail %s for appointment %s failed (attempt %d): %s",
                mail.id,
                mail.appointment_id,
                mail.attempts,
                exc,
            )
            error = f"{type(exc).__name__}: {exc}"[:1000]
            if mail.attempts >= MAX_ATTEMPTS:
                _record(store, mail_id, status="failed", last_error=error, claimed_until=None)
                report.failed.append(mail_id)
            else:
                retry_at = now + BACKOFF[min(mail.attempts, len(BACKOFF)) - 1]
                _record(store, mail_id, due_at=retry_at, last_error=error, claimed_until=None)
                report.retrying.append(mail_id)
            continue
        _record(store, mail_id, status="sent", sent_at=now, claimed_until=None)
        report.sent.append(mail_id)
    return report


def mail_overview(store: Store, statuses: Sequence[str] = ("pending", "failed")) -> list[MailRow]:
    """Mails in the given states, oldest first (for the admin's view of the outbox)."""
    with store.transaction() as session:
        return list(
            session.scalars(
                select(MailRow).where(MailRow.status.in_(statuses)).order_by(MailRow.due_at)
            )
        )

"""Payment requests: the clerk asks the citizen to pay fees, the hub follows the provider's
transaction until it is final. Never trusting the browser:

- the amount comes from the catalogue's fee items and the clerk's quantities, nothing else;
- the row and its `request_id` are written before the provider is asked, so every retry (this
  process, the `payments` job, another process after a restart) reuses the same request id and
  the provider holds at most one transaction for it;
- "paid" is recorded only from the provider's status as the hub itself read it, never from the
  citizen's return to the redirect URL;
- a state becomes final once: each transition is an UPDATE guarded by "state still open", so
  of two processes racing exactly one moves it, and the other sees it done.

The XBezahldienste interface has no way to cancel a transaction, so a clerk's cancel (and an
expiry at the deadline) is ours alone: the provider's transaction stays open until it ends
there. The hub keeps reading such transactions for WATCH_AFTER_FINAL; one the provider then
reports paid keeps its final state and gets `paid_after_final_at`, for the cash office to
refund or book by hand (reconciliation, issue 16 point 6).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from hub.booking.fees import FeeError, FeeItem, FeeLine, total_cents
from hub.payments.provider import (
    PaymentError,
    PaymentItem,
    PaymentProvider,
    PaymentRequest,
    PaymentState,
    PaymentTransaction,
    create_with_retries,
)
from hub.store import Store
from hub.store.engine import retrying
from hub.store.fees import fee_items
from hub.store.models import AppointmentRow, CallRow, PaymentRequestRow

log = logging.getLogger("hub.payments")

REQUESTED = "requested"  # written, the provider not yet (successfully) asked
OPEN = (REQUESTED, PaymentState.PENDING.value)
FINAL = tuple(s.value for s in PaymentState if s.final)
WATCH_AFTER_FINAL = timedelta(days=1)  # how long a cancelled or expired one is still read
# A request just written is being created by the clerk's own command: the jobs leave it alone
# this long (asking twice would be harmless, one request id, but costs the platform a call).
CREATE_GRACE = timedelta(seconds=15)
DEFAULT_EXPIRY = timedelta(minutes=30)
MIXED_PURPOSE = "Gebuehren Buergeramt"


class PaymentRequestRefused(ValueError):
    """A payment request that cannot be made or changed; `code` names why for the front-ends."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class RequestedLine:
    """One line of a request as priced when the clerk made it."""

    code: str
    label_de: str
    label_en: str
    quantity: int
    unit_cents: int
    kassenzeichen: str = ""
    haushaltsstelle: str = ""

    @property
    def total_cents(self) -> int:
        """Unit price times quantity."""
        return self.unit_cents * self.quantity

    @classmethod
    def from_line(cls, line: FeeLine) -> RequestedLine:
        """The line for a fee line of the catalogue."""
        item = line.item
        return cls(
            item.code,
            item.label_de,
            item.label_en,
            line.quantity,
            item.amount_cents,
            item.kassenzeichen,
            item.haushaltsstelle,
        )

    def payment_item(self) -> PaymentItem:
        """The position sent to the provider."""
        keys = {"kassenzeichen": self.kassenzeichen, "haushaltsstelle": self.haushaltsstelle}
        return PaymentItem(
            self.code,
            self.label_de,
            self.quantity,
            self.unit_cents,
            {k: v for k, v in keys.items() if v},
        )


@dataclass(frozen=True)
class PaymentRequestView:
    """A payment request as clerk, citizen page and cash office see it."""

    id: uuid.UUID
    appointment_id: uuid.UUID
    request_id: str
    lines: tuple[RequestedLine, ...]
    total_cents: int
    purpose: str
    state: str
    transaction_id: str | None
    pay_url: str | None
    clerk_id: int | None
    created_at: datetime
    expires_at: datetime
    final_at: datetime | None
    paid_after_final_at: datetime | None = None
    last_error: str = ""
    channel: str = "call"
    receipt_document_id: uuid.UUID | None = None

    @property
    def final(self) -> bool:
        """True once the state never changes again."""
        return self.state in FINAL


@dataclass(frozen=True)
class Refreshed:
    """What one refresh found: the request now, and whether this very call made it final
    (exactly one caller sees True per request, however many race)."""

    payment: PaymentRequestView
    became_final: bool


@dataclass
class FollowReport:
    """What one round of following open requests did, by request id."""

    created: list[uuid.UUID] = field(default_factory=list)
    settled: list[uuid.UUID] = field(default_factory=list)  # final from the provider's status
    expired: list[uuid.UUID] = field(default_factory=list)
    flagged: list[uuid.UUID] = field(default_factory=list)  # paid after cancel or expiry
    errors: int = 0
    # Appointments with a request whose state changed: their parties are told.
    changed: set[uuid.UUID] = field(default_factory=set)


def _view(row: PaymentRequestRow) -> PaymentRequestView:
    return PaymentRequestView(
        id=row.id,
        appointment_id=row.appointment_id,
        request_id=row.request_id,
        lines=tuple(RequestedLine(**line) for line in row.lines),  # type: ignore[arg-type]
        total_cents=row.total_cents,
        purpose=row.purpose,
        state=row.state,
        transaction_id=row.transaction_id,
        pay_url=row.pay_url,
        clerk_id=row.clerk_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        final_at=row.final_at,
        paid_after_final_at=row.paid_after_final_at,
        last_error=row.last_error,
        channel=row.channel,
        receipt_document_id=row.receipt_document_id,
    )


def _lines(items: Sequence[FeeItem], wanted: Sequence[tuple[str, int]]) -> list[FeeLine]:
    """The clerk's codes and quantities priced from the service's items, or refused."""
    if not wanted:
        raise PaymentRequestRefused("no_items", "a payment request needs at least one item")
    by_code = {item.code: item for item in items}
    seen: set[str] = set()
    lines = []
    for line in wanted:
        # An amount (or anything else) beside code and quantity is refused, not ignored.
        if not isinstance(line, tuple | list) or len(line) != 2 or not isinstance(line[0], str):
            raise PaymentRequestRefused("line", "a line is an item code and a quantity")
        code, quantity = line
        if code not in by_code:
            raise PaymentRequestRefused("unknown_item", f"the service has no fee item {code!r}")
        if code in seen:
            raise PaymentRequestRefused("repeated_item", f"{code!r} is asked for twice")
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise PaymentRequestRefused("quantity", "a quantity is a whole number")
        seen.add(code)
        try:
            lines.append(FeeLine(by_code[code], quantity))
        except FeeError as exc:
            raise PaymentRequestRefused("quantity", str(exc)) from None
    try:
        total_cents(lines)
    except FeeError as exc:
        raise PaymentRequestRefused("total", str(exc)) from None
    return lines


def _purpose(lines: Sequence[FeeLine]) -> str:
    purposes = {line.item.purpose for line in lines}
    return purposes.pop() if len(purposes) == 1 else MIXED_PURPOSE


def _provider_request(row: PaymentRequestRow) -> PaymentRequest:
    """The request as sent to the provider: the same each time for the same row."""
    return PaymentRequest(
        request_id=row.request_id,
        items=tuple(line.payment_item() for line in _view(row).lines),
        purpose=row.purpose,
        redirect_url=row.redirect_url,
        requested_at=row.created_at,
    )


def request_payment(
    store: Store,
    provider: PaymentProvider,
    appointment_id: uuid.UUID,
    lines: Sequence[tuple[str, int]],
    *,
    clerk_id: int,
    now: datetime,
    redirect_url: str | Callable[[uuid.UUID], str],
    expiry: timedelta = DEFAULT_EXPIRY,
    attempts: int = 2,
    channel: str = "call",
    then: Callable[[Connection, uuid.UUID], None] | None = None,
) -> PaymentRequestView:
    """The clerk in the appointment's call asks for these (item code, quantity) lines of the
    service's fees. The request is stored first, then the provider is asked; when it cannot be
    reached the request stays `requested` and the `payments` job asks again, same request id.

    `redirect_url`: where the platform sends the citizen back (a function of the request's id,
    or one address); `then(connection, id)` runs in the transaction that stores the request (to
    queue its mail with it)."""
    payment_id = uuid.uuid4()
    back = redirect_url(payment_id) if callable(redirect_url) else redirect_url

    def write() -> PaymentRequestView:
        with store.transaction() as session:
            appointment = session.get(AppointmentRow, appointment_id)
            if appointment is None:
                raise PaymentRequestRefused("not_found", "no such appointment")
            if appointment.status.withdrawn:
                raise PaymentRequestRefused("withdrawn", "the appointment was cancelled")
            call = session.get(CallRow, appointment_id)
            if call is None or call.clerk_id != clerk_id:
                raise PaymentRequestRefused("not_your_call", "this is another clerk's call")
            priced = _lines(fee_items(session, appointment.service_id), lines)
            row = PaymentRequestRow(
                id=payment_id,
                appointment_id=appointment_id,
                request_id=uuid.uuid4().hex,
                lines=[asdict(RequestedLine.from_line(line)) for line in priced],
                total_cents=total_cents(priced),
                purpose=_purpose(priced),
                redirect_url=back,
                state=REQUESTED,
                clerk_id=clerk_id,
                created_at=now,
                expires_at=now + expiry,
                last_error="",
                channel=channel,
            )
            session.add(row)
            session.flush()
            if then is not None:
                then(session.connection(), payment_id)
            return _view(row)

    written = retrying(write)
    _create(store, provider, written.id, now, attempts)
    return payment(store, written.id)


def _create(
    store: Store, provider: PaymentProvider, payment_id: uuid.UUID, now: datetime, attempts: int
) -> bool:
    """Ask the provider for the transaction of a `requested` row (again). A refusal ends the
    request `failed`; an unreachable provider leaves it as it is. True when this call made the
    request final (refused, or decided at the provider already)."""
    with store.transaction() as session:
        row = session.get(PaymentRequestRow, payment_id)
        if row is None or row.state != REQUESTED:
            return False
        request = _provider_request(row)
    try:
        transaction = create_with_retries(provider, request, attempts, pause_seconds=0.5)
    except PaymentError as exc:
        _note_error(store, payment_id, str(exc))
        if exc.retryable:
            log.warning("payment %s: provider unavailable, will retry: %s", payment_id, exc)
            return False
        log.error("payment %s: provider refused the request: %s", payment_id, exc)
        return _finish(store, payment_id, PaymentState.FAILED.value, now, None)
    values: dict[str, Any] = {
        "state": PaymentState.PENDING.value,
        "transaction_id": transaction.transaction_id,
        "pay_url": transaction.pay_url,
        "provider_state": transaction.state.value,
        "last_error": "",
    }
    _guarded_update(store, payment_id, (REQUESTED,), values)
    if transaction.state.final:  # decided already (a create repeated after the citizen paid)
        return _settle(store, payment_id, transaction, now)
    return False


def _guarded_update(
    store: Store, payment_id: uuid.UUID, states: Sequence[str], values: dict[str, Any]
) -> bool:
    """UPDATE the row only while its state is one of `states`; True when this call did."""
    table = PaymentRequestRow.__table__

    def attempt() -> bool:
        with store.engine.begin() as conn:
            result = conn.execute(
                update(table)
                .where(table.c.id == payment_id, table.c.state.in_(states))
                .values(**values)
            )
            return result.rowcount == 1

    return retrying(attempt)


def _finish(
    store: Store,
    payment_id: uuid.UUID,
    state: str,
    now: datetime,
    provider_state: str | None,
) -> bool:
    """Move an open request to the final `state`; True for the one caller that did."""
    values: dict[str, Any] = {"state": state, "final_at": now}
    if provider_state is not None:
        values["provider_state"] = provider_state
    moved = _guarded_update(store, payment_id, OPEN, values)
    if moved:
        log.info("payment %s: %s", payment_id, state)
    return moved


def _note_error(store: Store, payment_id: uuid.UUID, error: str) -> None:
    _guarded_update(store, payment_id, OPEN, {"last_error": error[:2000]})


def _trustworthy(transaction: PaymentTransaction, view: PaymentRequestView) -> bool:
    """The provider's answer is about this request and this amount."""
    return transaction.request_id == view.request_id and transaction.total_cents in (
        0,
        view.total_cents,
    )


def _settle(
    store: Store, payment_id: uuid.UUID, transaction: PaymentTransaction, now: datetime
) -> bool:
    """Record a final state the provider reported; True when this call made it final."""
    view = payment(store, payment_id)
    if not _trustworthy(transaction, view):
        log.error(
            "payment %s: the provider reported %s for request %s over %d cents; ignored",
            payment_id,
            transaction.state.value,
            transaction.request_id,
            transaction.total_cents,
        )
        return False
    if not transaction.state.final:
        _guarded_update(store, payment_id, OPEN, {"provider_state": transaction.state.value})
        return False
    if _finish(store, payment_id, transaction.state.value, now, transaction.state.value):
        return True
    _watch_result(store, payment_id, transaction, now)
    return False


def _watch_result(
    store: Store, payment_id: uuid.UUID, transaction: PaymentTransaction, now: datetime
) -> bool:
    """For a request final on our side: note the provider's state, and flag a payment that
    arrived after we had cancelled or expired it. True when this call flagged it."""
    table = PaymentRequestRow.__table__
    flag = transaction.state is PaymentState.PAID

    def attempt() -> bool:
        with store.engine.begin() as conn:
            conn.execute(
                update(table)
                .where(table.c.id == payment_id, table.c.state.in_(FINAL))
                .values(provider_state=transaction.state.value)
            )
            if not flag:
                return False
            result = conn.execute(
                update(table)
                .where(
                    table.c.id == payment_id,
                    table.c.state.in_(("cancelled", "expired")),
                    table.c.paid_after_final_at.is_(None),
                )
                .values(paid_after_final_at=now)
            )
            return result.rowcount == 1

    flagged = retrying(attempt)
    if flagged:
        log.warning(
            "payment %s: paid at the provider (transaction %s) after it was cancelled or"
            " expired here: for the cash office",
            payment_id,
            transaction.transaction_id,
        )
    return flagged


def payment(store: Store, payment_id: uuid.UUID) -> PaymentRequestView:
    """One payment request, by its id."""
    with store.transaction() as session:
        row = session.get(PaymentRequestRow, payment_id)
        if row is None:
            raise PaymentRequestRefused("not_found", "no such payment request")
        return _view(row)


def payments(store: Store, appointment_id: uuid.UUID) -> list[PaymentRequestView]:
    """The appointment's payment requests, oldest first (none of another appointment's)."""
    with store.transaction() as session:
        rows = session.scalars(
            select(PaymentRequestRow)
            .where(PaymentRequestRow.appointment_id == appointment_id)
            .order_by(PaymentRequestRow.created_at, PaymentRequestRow.request_id)
        )
        return [_view(row) for row in rows]


def refresh(
    store: Store, provider: PaymentProvider, payment_id: uuid.UUID, now: datetime
) -> Refreshed:
    """Bring the request up to date: create its transaction when still `requested`, read the
    provider's status when `pending`, expire it at its deadline unless the provider says it
    was paid. Provider errors leave it as it was (the next round tries again)."""
    view = payment(store, payment_id)
    if view.state == REQUESTED:
        if _create(store, provider, payment_id, now, attempts=1):
            return Refreshed(payment(store, payment_id), True)
        view = payment(store, payment_id)
    moved = False
    if view.state == PaymentState.PENDING.value and view.transaction_id:
        try:
            transaction = provider.status(view.transaction_id)
        except PaymentError as exc:
            _note_error(store, payment_id, str(exc))
            log.warning("payment %s: status not read: %s", payment_id, exc)
            if exc.retryable:  # unknown whether paid: not expired until the provider answers
                return Refreshed(payment(store, payment_id), False)
        else:
            moved = _settle(store, payment_id, transaction, now)
    elif view.final and view.transaction_id and _watched(view, now):
        try:
            _watch_result(store, payment_id, provider.status(view.transaction_id), now)
        except PaymentError as exc:
            log.warning("payment %s: status not read: %s", payment_id, exc)
    view = payment(store, payment_id)
    if not view.final and now >= view.expires_at:
        # Still pending at the provider (or never created there): ours ends here. A payment
        # that arrives later is flagged by the watch, not lost.
        moved = _finish(store, payment_id, PaymentState.EXPIRED.value, now, None) or moved
        view = payment(store, payment_id)
    return Refreshed(view, moved)


def _watched(view: PaymentRequestView, now: datetime) -> bool:
    """Cancelled or expired by us while the provider's transaction may still be paid."""
    return (
        view.state in ("cancelled", "expired")
        and view.final_at is not None
        and now - view.final_at < WATCH_AFTER_FINAL
        and view.paid_after_final_at is None
    )


def cancel_payment(
    store: Store,
    provider: PaymentProvider,
    payment_id: uuid.UUID,
    *,
    clerk_id: int,
    now: datetime,
) -> Refreshed:
    """The clerk withdraws an unpaid request. The provider's status is read first: a request
    the citizen paid meanwhile becomes `paid` and is not cancelled; otherwise it ends
    `cancelled` (when the provider cannot be reached, too: a later payment is flagged)."""
    view = payment(store, payment_id)
    with store.transaction() as session:
        call = session.get(CallRow, view.appointment_id)
        if call is None or call.clerk_id != clerk_id:
            raise PaymentRequestRefused("not_your_call", "this is another clerk's call")
    if view.final:
        raise PaymentRequestRefused("final", f"the payment request is {view.state} already")
    checked = refresh(store, provider, payment_id, now)
    if checked.payment.final:
        return checked
    moved = _finish(store, payment_id, PaymentState.CANCELLED.value, now, None)
    return Refreshed(payment(store, payment_id), moved)


def follow(
    store: Store,
    provider: PaymentProvider,
    now: datetime,
    limit: int = 200,
    live_only: bool = False,
) -> FollowReport:
    """One round of the `payments` job: every open request refreshed (created, settled or
    expired), and the cancelled or expired ones still watched read once more. `live_only`:
    only the open requests shown in a call (someone is waiting for those; the `payments_live`
    job reads them often, the pay-later ones and the watched ones less often)."""
    watch_from = now - WATCH_AFTER_FINAL
    table = PaymentRequestRow.__table__
    live = and_(table.c.state.in_(OPEN), table.c.channel == "call")
    settled_in = or_(table.c.state != REQUESTED, table.c.created_at <= now - CREATE_GRACE)
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(table.c.id, table.c.state)
            .where(settled_in)
            .where(
                live
                if live_only
                else or_(
                    table.c.state.in_(OPEN),
                    and_(
                        table.c.state.in_(("cancelled", "expired")),
                        table.c.transaction_id.is_not(None),
                        table.c.final_at > watch_from,
                        table.c.paid_after_final_at.is_(None),
                        or_(
                            table.c.provider_state.is_(None),
                            table.c.provider_state == PaymentState.PENDING.value,
                        ),
                    ),
                )
            )
            .order_by(table.c.created_at)
            .limit(limit)
        ).all()
    report = FollowReport()
    for payment_id, state in rows:
        try:
            result = refresh(store, provider, payment_id, now)
        except Exception:  # one request's trouble must not stop the others
            log.exception("payment %s: refresh failed", payment_id)
            report.errors += 1
            continue
        after = result.payment
        if after.state != state:
            report.changed.add(after.appointment_id)
        if state == REQUESTED and after.state != REQUESTED:
            report.created.append(payment_id)
        if result.became_final:
            (report.expired if after.state == "expired" else report.settled).append(payment_id)
        if state in FINAL and after.paid_after_final_at is not None:
            report.flagged.append(payment_id)
    return report


def request_by_mail(
    store: Store,
    provider: PaymentProvider,
    payment_id: uuid.UUID,
    *,
    clerk_id: int,
    now: datetime,
    redirect_url: Callable[[uuid.UUID], str],
    expiry: timedelta,
    enqueue: Callable[[Connection, uuid.UUID, uuid.UUID], None],
) -> PaymentRequestView:
    """Pay later: a new request for the lines of `payment_id` (a card failed in the call, say),
    sent to the citizen by e-mail (`enqueue(connection, appointment, new id)` queues the mail in
    the transaction that stores it). The old request is cancelled first if still open; a paid
    one is refused, as is a request of a call that is not this clerk's."""
    old = payment(store, payment_id)
    if old.state == PaymentState.PAID.value:
        raise PaymentRequestRefused("final", "the payment request is paid already")
    if not old.final:
        cancelled = cancel_payment(store, provider, payment_id, clerk_id=clerk_id, now=now)
        if cancelled.payment.state == PaymentState.PAID.value:  # paid meanwhile
            raise PaymentRequestRefused("final", "the payment request is paid already")
    return request_payment(
        store,
        provider,
        old.appointment_id,
        [(line.code, line.quantity) for line in old.lines],
        clerk_id=clerk_id,
        now=now,
        redirect_url=redirect_url,
        expiry=expiry,
        channel="mail",
        then=lambda conn, new_id: enqueue(conn, old.appointment_id, new_id),
    )

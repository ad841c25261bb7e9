"""The city cash office's side of the fees (issue 16 point 6): the day's export for its
Kassenverfahren and the reconciliation of our payment requests against the provider.

- `daily_export` lists one row per position of every request that became `paid` on a Berlin
  calendar day, and the positions of requests the provider reported paid after we had
  cancelled or expired them (flagged that day): those the cash office books or refunds by hand.
- `export_csv` writes them as the CSV German cash software imports (docs/operations.md, "Kasse /
  cash office", names every column).
- `reconcile` reads each request's transaction from the provider now and says where the two
  sides differ. It only reads: no request's state changes here (the `payments` job does that).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, or_, select

from hub.booking.timezone import end_of_local_day, local_date, start_of_local_day
from hub.operations.payments import OPEN, RequestedLine
from hub.payments.provider import PaymentError, PaymentProvider, PaymentState
from hub.store import Store
from hub.store.models import PaymentRequestRow

CURRENCY = "EUR"
# What the Hinweis column says of a request paid at the provider after it had ended here.
LATE_NOTES = {
    "cancelled": "nach Storno bezahlt - von Hand buchen oder erstatten",
    "expired": "nach Ablauf bezahlt - von Hand buchen oder erstatten",
    "failed": "nach Fehlschlag bezahlt - von Hand buchen oder erstatten",
}


def appointment_reference(appointment_id: uuid.UUID) -> str:
    """The appointment as the cash office quotes it: 8 characters of its random id, no name."""
    return appointment_id.hex[:8].upper()


def german_amount(cents: int) -> str:
    """Cents as a German decimal without thousands separator: 123456 → "1234,56"."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole},{rest:02d}"


@dataclass(frozen=True)
class ExportRow:
    """One position of a paid request, as the cash office books it."""

    booking_date: date  # the Berlin day it was paid (or found paid after it had ended here)
    kassenzeichen: str
    haushaltsstelle: str
    amount_cents: int  # the line's total: quantity times unit price
    quantity: int
    unit_cents: int
    label: str  # the fee item's German label
    item_code: str
    position: int  # 1-based within the request
    transaction_id: str
    request_id: str
    purpose: str
    appointment_ref: str
    note: str = ""  # Hinweis: empty for a normal payment

    @property
    def currency(self) -> str:
        """Always euros."""
        return CURRENCY


def _rows_of(request: PaymentRequestRow, day: date, note: str) -> list[ExportRow]:
    lines = [RequestedLine(**line) for line in request.lines]  # type: ignore[arg-type]
    return [
        ExportRow(
            booking_date=day,
            kassenzeichen=line.kassenzeichen,
            haushaltsstelle=line.haushaltsstelle,
            amount_cents=line.total_cents,
            quantity=line.quantity,
            unit_cents=line.unit_cents,
            label=line.label_de,
            item_code=line.code,
            position=n,
            transaction_id=request.transaction_id or "",
            request_id=request.request_id,
            purpose=request.purpose,
            appointment_ref=appointment_reference(request.appointment_id),
            note=note,
        )
        for n, line in enumerate(lines, start=1)
    ]


def daily_export(store: Store, day: date) -> list[ExportRow]:
    """Every position paid on `day` (Berlin), then every position of a request flagged paid
    after its end on that day; each group in the order it was paid."""
    start, end = start_of_local_day(day), end_of_local_day(day)
    table = PaymentRequestRow
    with store.transaction() as session:
        paid = session.scalars(
            select(table)
            .where(
                table.state == PaymentState.PAID.value,
                table.final_at >= start,
                table.final_at < end,
            )
            .order_by(table.final_at, table.request_id)
        ).all()
        late = session.scalars(
            select(table)
            .where(table.paid_after_final_at >= start, table.paid_after_final_at < end)
            .order_by(table.paid_after_final_at, table.request_id)
        ).all()
        rows = [row for request in paid for row in _rows_of(request, day, "")]
        rows += [
            row
            for request in late
            for row in _rows_of(request, day, LATE_NOTES.get(request.state, "nachträglich bezahlt"))
        ]
    return rows


# The CSV's columns: header and value. docs/operations.md documents each; keep them in step.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("Buchungsdatum", "booking date, DD.MM.YYYY, Berlin"),
    ("Kassenzeichen", "the fee item's Kassenzeichen"),
    ("Haushaltsstelle", "the fee item's Haushaltsstelle"),
    ("Betrag", "the position's total in euros, decimal comma"),
    ("Betrag in Cent", "the same in integer cents"),
    ("Währung", "EUR"),
    ("Menge", "quantity"),
    ("Einzelpreis", "unit price in euros, decimal comma"),
    ("Bezeichnung", "the fee item's German label"),
    ("Gebührenschlüssel", "the fee item's code in the catalogue"),
    ("Position", "the position's number within the payment request, from 1"),
    ("Transaktions-ID", "the payment platform's transaction id"),
    ("Request-ID", "our requestId sent to the platform"),
    ("Verwendungszweck", "the purpose text sent to the platform"),
    ("Terminreferenz", "8 characters of the appointment's id"),
    ("Hinweis", "empty, or why the position needs booking or refunding by hand"),
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    """Free text as a cell that spreadsheet programs never run as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _cells(row: ExportRow) -> list[str]:
    return [
        row.booking_date.strftime("%d.%m.%Y"),
        row.kassenzeichen,
        row.haushaltsstelle,
        german_amount(row.amount_cents),
        str(row.amount_cents),
        row.currency,
        str(row.quantity),
        german_amount(row.unit_cents),
        _text(row.label),
        row.item_code,
        str(row.position),
        row.transaction_id,
        row.request_id,
        _text(row.purpose),
        row.appointment_ref,
        _text(row.note),
    ]


def export_csv(rows: Iterable[ExportRow]) -> str:
    """The rows as CSV: `;` between cells, decimal comma, a header row of German names, CRLF
    line ends, and a UTF-8 byte order mark first (so Excel reads the umlauts); encode the text
    as UTF-8."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([name for name, _ in COLUMNS])
    writer.writerows(_cells(row) for row in rows)
    return out.getvalue()


@dataclass(frozen=True)
class Difference:
    """Where our record and the provider's disagree: a code for scripts, texts for people."""

    code: str
    de: str
    en: str


PAID_HERE_ONLY = Difference(
    "paid_here_only",
    "Bei uns bezahlt, bei der Zahlungsplattform nicht bezahlt",
    "Paid here, not paid at the payment platform",
)
PAID_AFTER_END = Difference(
    "paid_after_end",
    "Bei der Plattform bezahlt, bei uns storniert, abgelaufen oder fehlgeschlagen",
    "Paid at the platform, cancelled, expired or failed here",
)
AMOUNT_DIFFERS = Difference(
    "amount_differs",
    "Der Betrag der Plattform weicht von unserem ab",
    "The platform's amount differs from ours",
)
UNKNOWN_TRANSACTION = Difference(
    "unknown_transaction",
    "Die Plattform kennt die Transaktion nicht",
    "The platform does not know the transaction",
)
OTHER_REQUEST = Difference(
    "other_request",
    "Die Transaktion der Plattform gehört zu einer anderen Request-ID",
    "The platform's transaction belongs to another request id",
)
NOT_CAUGHT_UP = Difference(
    "not_caught_up",
    "Bei uns noch offen, bei der Plattform schon abgeschlossen (Abgleich läuft nach)",
    "Still open here, final at the platform (the payments job has not caught up)",
)
DIFFERENCES = (
    PAID_HERE_ONLY,
    PAID_AFTER_END,
    AMOUNT_DIFFERS,
    UNKNOWN_TRANSACTION,
    OTHER_REQUEST,
    NOT_CAUGHT_UP,
)
ENDED_HERE = ("cancelled", "expired", "failed")


@dataclass(frozen=True)
class ReconciledPayment:
    """One request with a transaction: our record, the provider's as read now, and the
    differences. `provider_state` None: the provider could not be asked (not a difference)."""

    id: uuid.UUID
    request_id: str
    appointment_ref: str
    transaction_id: str
    created_at: datetime
    final_at: datetime | None
    state: str
    total_cents: int
    paid_after_final_at: datetime | None
    provider_state: str | None
    provider_status: str
    provider_total_cents: int | None
    differences: tuple[Difference, ...] = ()
    error: str = ""  # why the provider's status is unknown

    @property
    def unknown(self) -> bool:
        """The provider did not answer for this request (unreachable, or none configured)."""
        return self.provider_state is None and not self.differences

    @property
    def provider_paid(self) -> bool:
        """The provider reports it paid."""
        return self.provider_state == PaymentState.PAID.value


@dataclass
class Reconciliation:
    """Every request of the period against the provider, with the sums of both sides."""

    start: datetime
    end: datetime
    checked_at: datetime
    payments: list[ReconciledPayment] = field(default_factory=list)

    @property
    def our_paid_cents(self) -> int:
        """What we recorded as paid."""
        return sum(p.total_cents for p in self.payments if p.state == PaymentState.PAID.value)

    @property
    def provider_paid_cents(self) -> int:
        """What the provider reports paid (for these requests)."""
        return sum(p.provider_total_cents or 0 for p in self.payments if p.provider_paid)

    @property
    def differing(self) -> list[ReconciledPayment]:
        """The requests with at least one difference."""
        return [p for p in self.payments if p.differences]

    @property
    def unknown(self) -> list[ReconciledPayment]:
        """The requests whose provider status could not be read."""
        return [p for p in self.payments if p.unknown]


def _compare(ours: ReconciledPayment, provider: PaymentProvider | None) -> ReconciledPayment:
    """`ours` with the provider's side read now and the differences found."""
    if provider is None:
        return replace(ours, error="no payment platform configured")
    try:
        theirs = provider.status(ours.transaction_id)
    except PaymentError as exc:
        if exc.retryable:  # unreachable, slow or failing: nothing known, nothing to flag
            return replace(ours, error=str(exc))
        return replace(ours, differences=(UNKNOWN_TRANSACTION,), error=str(exc))
    found: list[Difference] = []
    if theirs.request_id != ours.request_id:
        found.append(OTHER_REQUEST)
    paid_there = theirs.state is PaymentState.PAID
    if ours.state == PaymentState.PAID.value and not paid_there:
        found.append(PAID_HERE_ONLY)
    if ours.state in ENDED_HERE and paid_there:
        found.append(PAID_AFTER_END)
    if ours.state in OPEN and theirs.state.final:
        found.append(NOT_CAUGHT_UP)
    # A platform may leave the amount out of a status answer (read as 0): not a difference.
    if theirs.total_cents not in (0, ours.total_cents):
        found.append(AMOUNT_DIFFERS)
    return replace(
        ours,
        provider_state=theirs.state.value,
        provider_status=theirs.provider_status,
        provider_total_cents=theirs.total_cents or ours.total_cents,
        differences=tuple(found),
    )


def _touching(start: datetime, end: datetime) -> ColumnElement[bool]:
    """Requests created, ended or flagged paid late in [start, end)."""
    table = PaymentRequestRow
    return or_(
        *(
            and_(column >= start, column < end)
            for column in (table.created_at, table.final_at, table.paid_after_final_at)
        )
    )


def _ours(row: PaymentRequestRow) -> ReconciledPayment:
    return ReconciledPayment(
        id=row.id,
        request_id=row.request_id,
        appointment_ref=appointment_reference(row.appointment_id),
        transaction_id=row.transaction_id or "",
        created_at=row.created_at,
        final_at=row.final_at,
        state=row.state,
        total_cents=row.total_cents,
        paid_after_final_at=row.paid_after_final_at,
        provider_state=None,
        provider_status="",
        provider_total_cents=None,
    )


def reconcile(
    store: Store,
    provider: PaymentProvider | None,
    start: datetime,
    end: datetime,
    now: datetime,
) -> Reconciliation:
    """Our requests of [start, end) against the provider's status read now. Read-only."""
    table = PaymentRequestRow
    with store.transaction() as session:
        rows = session.scalars(
            select(table)
            .where(table.transaction_id.is_not(None), _touching(start, end))
            .order_by(table.created_at, table.request_id)
        )
        recorded = [_ours(row) for row in rows]
    # The provider is asked outside any transaction: its answers may take seconds.
    return Reconciliation(start, end, now, [_compare(p, provider) for p in recorded])


def day_span(day: date, days: int = 1) -> tuple[datetime, datetime]:
    """The UTC instants of the `days` Berlin calendar days ending with `day`."""
    if days < 1:
        raise ValueError("days must be at least 1")
    first = date.fromordinal(day.toordinal() - days + 1)
    return start_of_local_day(first), end_of_local_day(day)


@dataclass(frozen=True)
class DayRequest:
    """A request of the day as `buergeramt payments list` shows it."""

    request_id: str
    appointment_ref: str
    created_at: datetime
    state: str
    total_cents: int
    transaction_id: str
    paid_after_final_at: datetime | None


def day_requests(store: Store, day: date) -> list[DayRequest]:
    """Every request created, ended or flagged on `day` (Berlin), with or without transaction."""
    table = PaymentRequestRow
    with store.transaction() as session:
        rows = session.scalars(
            select(table)
            .where(_touching(*day_span(day)))
            .order_by(table.created_at, table.request_id)
        )
        return [
            DayRequest(
                r.request_id,
                appointment_reference(r.appointment_id),
                r.created_at,
                r.state,
                r.total_cents,
                r.transaction_id or "",
                r.paid_after_final_at,
            )
            for r in rows
        ]


def berlin_day(instant: datetime) -> date:
    """The Berlin calendar day of `instant` (the default day of the export and the page)."""
    return local_date(instant)

"""Services as the office edits them: names and descriptions in German and English, duration,
the fee shown when booking, the checklist of documents, which counters offer it, and whether
citizens see it. Its fee items are in hub.operations.fees.

The admin pages and `buergeramt services set|add` call these; each function is one transaction
with its audit entry and refuses with a CatalogueError that names the field at fault.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hub.booking.fees import FeeItem
from hub.booking.rules import validate_duration
from hub.operations.audit import record
from hub.operations.catalogue import MAX_FEE_CENTS, SYSTEM, CatalogueError
from hub.store import Store
from hub.store.catalogue import taking_time
from hub.store.fees import fee_items
from hub.store.models import AppointmentRow, CounterRow, ServiceCounterRow, ServiceRow

MAX_NAME = 200  # the columns' length
MAX_DESCRIPTION = 2000
MAX_DOCUMENTS = 20
MAX_DOCUMENT = 200
SERVICE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")


@dataclass(frozen=True)
class ServiceDraft:
    """What the office sets of a service. `counters` None: offered at every counter."""

    name_de: str
    name_en: str
    description_de: str
    description_en: str
    duration_minutes: int
    fee_cents: int
    documents_de: tuple[str, ...]
    documents_en: tuple[str, ...]
    counters: frozenset[int] | None
    active: bool

    def shown(self) -> dict[str, Any]:
        """The draft as the audit log keeps it."""
        values = asdict(self)
        values["documents_de"] = list(self.documents_de)
        values["documents_en"] = list(self.documents_en)
        values["counters"] = "all" if self.counters is None else sorted(self.counters)
        return values


@dataclass(frozen=True)
class ServiceDetails:
    """A service with everything the office edits, its fee items, and how many appointments
    it has ahead (they keep their duration and counter whatever changes)."""

    id: str
    draft: ServiceDraft
    fee_items: tuple[FeeItem, ...]
    appointments_ahead: int


def _text(value: str, limit: int, field: str, required: bool) -> None:
    if required and not value.strip():
        raise CatalogueError("this text is needed", field)
    if len(value) > limit:
        raise CatalogueError(f"at most {limit} characters", field)


def validate_draft(draft: ServiceDraft) -> None:
    """Refuse a draft the catalogue cannot keep; the error names the field."""
    _text(draft.name_de, MAX_NAME, "name_de", True)
    _text(draft.name_en, MAX_NAME, "name_en", True)
    _text(draft.description_de, MAX_DESCRIPTION, "description_de", False)
    _text(draft.description_en, MAX_DESCRIPTION, "description_en", False)
    try:
        validate_duration(draft.duration_minutes)
    except ValueError as exc:
        raise CatalogueError(str(exc), "duration_minutes") from None
    if not 0 <= draft.fee_cents <= MAX_FEE_CENTS:
        raise CatalogueError(f"fees lie between 0 and {MAX_FEE_CENTS} cents", "fee_cents")
    for field, documents in (
        ("documents_de", draft.documents_de),
        ("documents_en", draft.documents_en),
    ):
        if len(documents) > MAX_DOCUMENTS:
            raise CatalogueError(f"at most {MAX_DOCUMENTS} documents", field)
        if any(not d.strip() or len(d) > MAX_DOCUMENT for d in documents):
            raise CatalogueError(f"each document is 1 to {MAX_DOCUMENT} characters", field)
    if draft.counters is not None and not draft.counters:
        raise CatalogueError("choose at least one counter, or hide the service", "counters")


def _draft(row: ServiceRow, counters: frozenset[int] | None) -> ServiceDraft:
    return ServiceDraft(
        row.name_de,
        row.name_en,
        row.description_de,
        row.description_en,
        row.duration_minutes,
        row.fee_cents,
        tuple(row.documents_de or ()),
        tuple(row.documents_en or ()),
        counters,
        row.active,
    )


def _counters_of(session: Session, service_id: str) -> frozenset[int] | None:
    ids = frozenset(
        session.scalars(
            select(ServiceCounterRow.counter_id).where(ServiceCounterRow.service_id == service_id)
        )
    )
    return ids or None


def _ahead(session: Session, service_id: str, now: datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(AppointmentRow)
            .where(
                AppointmentRow.service_id == service_id,
                AppointmentRow.start_at > now,
                taking_time(now),
            )
        )
        or 0
    )


def service_details(store: Store, service_id: str, now: datetime) -> ServiceDetails:
    """One service with all the office edits; CatalogueError when there is none."""
    with store.transaction() as session:
        row = session.get(ServiceRow, service_id)
        if row is None:
            raise CatalogueError(f"no service with id {service_id!r}")
        draft = _draft(row, _counters_of(session, service_id))
        return ServiceDetails(
            row.id, draft, fee_items(session, service_id), _ahead(session, service_id, now)
        )


def _check_counters(session: Session, counters: frozenset[int] | None) -> None:
    if counters is None:
        return
    known = set(session.scalars(select(CounterRow.id).where(CounterRow.id.in_(counters))))
    if known != set(counters):
        raise CatalogueError("no such counter", "counters")


def _write(session: Session, row: ServiceRow, draft: ServiceDraft) -> None:
    row.name_de, row.name_en = draft.name_de, draft.name_en
    row.description_de, row.description_en = draft.description_de, draft.description_en
    row.duration_minutes, row.fee_cents = draft.duration_minutes, draft.fee_cents
    row.documents_de, row.documents_en = list(draft.documents_de), list(draft.documents_en)
    row.active = draft.active
    session.flush()  # a new service's row before the rows that refer to it
    session.execute(delete(ServiceCounterRow).where(ServiceCounterRow.service_id == row.id))
    if draft.counters is not None:
        session.add_all(ServiceCounterRow(service_id=row.id, counter_id=c) for c in draft.counters)


def save_service(
    store: Store, service_id: str, draft: ServiceDraft, *, actor: str = SYSTEM, now: datetime
) -> ServiceDraft:
    """Make `draft` the service's settings; returns those it had. Appointments already booked
    keep their duration and counter; a hidden service takes no new bookings."""
    validate_draft(draft)
    with store.transaction() as session:
        row = session.get(ServiceRow, service_id, with_for_update=True)
        if row is None:
            raise CatalogueError(f"no service with id {service_id!r}")
        _check_counters(session, draft.counters)
        before = _draft(row, _counters_of(session, service_id))
        if before != draft:
            _write(session, row, draft)
            changed = {k: v for k, v in draft.shown().items() if before.shown()[k] != v}
            was = {k: before.shown()[k] for k in changed}
            record(session, now, actor, "service.update", f"service:{service_id}", was, changed)
    store.forget_catalogue()
    return before


def add_service(
    store: Store, service_id: str, draft: ServiceDraft, *, actor: str = SYSTEM, now: datetime
) -> None:
    """A new service, listed after the others; its id is what links and the CLI use."""
    if not SERVICE_ID.match(service_id):
        raise CatalogueError(
            "an id is 2 to 64 lower-case letters, digits or '-', e.g. personalausweis", "id"
        )
    validate_draft(draft)
    with store.transaction() as session:
        if session.get(ServiceRow, service_id) is not None:
            raise CatalogueError(f"a service with id {service_id!r} exists already", "id")
        _check_counters(session, draft.counters)
        last = session.scalar(select(func.max(ServiceRow.position))) or 0
        row = ServiceRow(id=service_id, position=last + 1)
        session.add(row)
        _write(session, row, draft)
        record(session, now, actor, "service.add", f"service:{service_id}", None, draft.shown())
    store.forget_catalogue()


def change_service(
    store: Store, service_id: str, *, actor: str = SYSTEM, now: datetime, **changes: Any
) -> ServiceDraft:
    """Change some settings of a service (ServiceDraft's field names), keeping the others;
    returns those it had. What `buergeramt services set` does."""
    unknown = set(changes) - {f.name for f in fields(ServiceDraft)}
    if unknown:
        raise CatalogueError(f"no such setting: {', '.join(sorted(unknown))}")
    current = service_details(store, service_id, now).draft
    return save_service(store, service_id, replace(current, **changes), actor=actor, now=now)

"""Listing slots, booking, reading, rescheduling and cancelling appointments."""

from __future__ import annotations

import hmac
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as lite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from hub.booking.catalogue import Service
from hub.booking.rules import BookingError, BookingPolicy, SlotTaken
from hub.booking.schedule import Interval
from hub.booking.slots import BusyTimes, counters_offering, free_slots, grid_units
from hub.booking.status import OCCUPYING, Status, check_changeable
from hub.booking.timezone import require_aware, to_local_iso
from hub.booking.tokens import hash_token, join_token_for, new_token
from hub.notify.outbox import MailPolicy
from hub.operations.audit import record
from hub.store import Store
from hub.store.catalogue import Catalogue, busy_times
from hub.store.engine import retrying
from hub.store.models import AppointmentRow, MailRow, OccupancyRow
from hub.store.types import UTCDateTime

T = TypeVar("T")
ALTERNATIVES = 5
ALTERNATIVES_SEARCH = (timedelta(days=1), timedelta(days=7), timedelta(days=28))


class NotFound(BookingError):
    """No such thing, or a token that does not open it: the two look the same from outside."""


@dataclass(frozen=True)
class Appointment:
    """What the owner of a manage link may see of an appointment."""

    id: uuid.UUID
    service_id: str
    start: datetime
    end: datetime
    status: Status
    name: str
    email: str
    locale: str
    created_at: datetime
    cancelled_at: datetime | None
    hold_until: datetime | None = None

    @classmethod
    def of(cls, row: AppointmentRow) -> Appointment:
        """Copy the visible fields of a row."""
        return cls(
            row.id,
            row.service_id,
            row.start_at,
            row.end_at,
            row.status,
            row.name,
            row.email,
            row.locale,
            row.created_at,
            row.cancelled_at,
            row.hold_until,
        )


@dataclass(frozen=True)
class Booked:
    """A new appointment with its two secrets, shown once and never stored."""

    appointment: Appointment
    manage_token: str
    join_token: str


@dataclass(frozen=True)
class BookingRequest:
    """A validated request to book `service_id` at `start`."""

    service_id: str
    start: datetime
    name: str
    email: str
    locale: str = "de"
    phone: str = ""  # the office books for a citizen who phoned: a number to call back on


def audit_target(appointment_id: uuid.UUID) -> str:
    """How the audit log names an appointment: by its id, never by the citizen's name."""
    return f"appointment:{appointment_id}"


def audit_values(
    start: datetime, end: datetime, counter_id: int, status: Status
) -> dict[str, object]:
    """What the audit log keeps of an appointment before and after a change: times, counter,
    status (nothing personal)."""
    return {
        "start": to_local_iso(start),
        "end": to_local_iso(end),
        "counter": counter_id,
        "status": status.value,
    }


def _row_audit(row: AppointmentRow) -> dict[str, object]:
    return audit_values(row.start_at, row.end_at, row.counter_id, row.status)


def services(store: Store) -> list[Service]:
    """The bookable services."""
    return list(store.catalogue().services.values())


def _service(catalogue: Catalogue, service_id: str) -> Service:
    service = catalogue.services.get(service_id)
    if service is None:
        raise NotFound("service_not_found", "service_id")
    return service


def _slots_in(
    store: Store,
    catalogue: Catalogue,
    service: Service,
    window: Interval,
    step: timedelta,
    now: datetime,
) -> list[Interval]:
    def read() -> BusyTimes:
        with store.transaction() as session:
            return busy_times(session, window, now)

    busy = retrying(read)
    duration = timedelta(minutes=service.duration_minutes)
    return free_slots(catalogue.counters_for(service.id), busy, window, duration, step)


def list_slots(
    store: Store,
    policy: BookingPolicy,
    now: datetime,
    service_id: str,
    first_day: date,
    last_day: date,
) -> list[Interval]:
    """Free slots for a service on the local days first_day..last_day."""
    catalogue = store.catalogue()
    service = _service(catalogue, service_id)
    window = policy.window(now, first_day, last_day)
    return [] if window is None else _slots_in(store, catalogue, service, window, policy.step, now)


def alternatives(
    store: Store, policy: BookingPolicy, now: datetime, service_id: str, after: datetime
) -> list[Interval]:
    """The next few free slots from `after` on (or from the earliest bookable time)."""
    catalogue = store.catalogue()
    service = catalogue.services.get(service_id)
    if service is None:
        return []
    bookable = policy.bookable(now)
    start = min(max(after, bookable.start), bookable.end - timedelta(minutes=1))
    found: list[Interval] = []
    # Look a little ahead first (cheap, and what a citizen wants), then further out.
    for reach in ALTERNATIVES_SEARCH:
        end = min(start + reach, bookable.end)
        found = _slots_in(store, catalogue, service, Interval(start, end), policy.step, now)
        if len(found) >= ALTERNATIVES or end == bookable.end:
            break
    return found[:ALTERNATIVES]


def _requested_slot(
    catalogue: Catalogue, policy: BookingPolicy, now: datetime, service: Service, start: datetime
) -> tuple[Interval, list[int]]:
    start = require_aware(start, "start")
    slot = Interval(start, start + timedelta(minutes=service.duration_minutes))
    policy.check_start(now, slot)
    offering = counters_offering(catalogue.counters_for(service.id), slot, policy.step)
    if not offering:
        raise BookingError("start_not_offered", "start")
    return slot, offering


OCCUPANCY = OccupancyRow.__table__
APPOINTMENTS = AppointmentRow.__table__


# Statements built once: compiling SQL per request costs more than running it.
_TAKEN = select(OCCUPANCY.c.counter_id).where(
    OCCUPANCY.c.counter_id.in_(bindparam("counters", expanding=True)),
    OCCUPANCY.c.minute.in_(bindparam("units", expanding=True)),
)
_INSERT_APPOINTMENT = insert(APPOINTMENTS)
_OPEN_FOR_EMAIL = (
    select(func.count())
    .select_from(APPOINTMENTS)
    .where(
        APPOINTMENTS.c.email == bindparam("email"),
        APPOINTMENTS.c.status.in_(OCCUPYING),
        APPOINTMENTS.c.end_at > bindparam("now", type_=UTCDateTime()),
    )
    .scalar_subquery()
)
_INSERTED_COLUMNS = (
    "id",
    "service_id",
    "counter_id",
    "start_at",
    "end_at",
    "status",
    "hold_until",
    "name",
    "email",
    "locale",
    "manage_token_hash",
    "join_token_hash",
    "created_at",
    "updated_at",
    "cancelled_at",
    "revision",
    "phone",
)
# INSERT … SELECT … WHERE (upcoming appointments of this address) < :limit
_INSERT_IF_ROOM = (
    insert(APPOINTMENTS)
    .from_select(
        _INSERTED_COLUMNS,
        select(*(bindparam(c, type_=APPOINTMENTS.c[c].type) for c in _INSERTED_COLUMNS)).where(
            bindparam("limit") > _OPEN_FOR_EMAIL
        ),
    )
    .returning(APPOINTMENTS.c.id)
)
_ASSIGN = (
    update(APPOINTMENTS)
    .where(APPOINTMENTS.c.id == bindparam("appointment"))
    .values(counter_id=bindparam("counter"))
)
_RELEASE = delete(OCCUPANCY).where(
    OCCUPANCY.c.appointment_id == bindparam("appointment"),
    OCCUPANCY.c.counter_id == bindparam("counter"),
)
_OCCUPY = {
    name: dialect_insert(OCCUPANCY).on_conflict_do_nothing().returning(OCCUPANCY.c.minute)
    for name, dialect_insert in (("postgresql", pg_insert), ("sqlite", lite_insert))
}


# PostgreSQL: take the per-address lock in the same round trip as reading the taken units. The
# lock function yields one row with a NULL counter, which the caller ignores.
_LOCK_AND_TAKEN = text(
    "SELECT NULL::integer AS counter_id FROM pg_advisory_xact_lock(hashtextextended(:email, 0))"
    " UNION ALL SELECT counter_id FROM occupancy"
    " WHERE counter_id = ANY(:counters) AND minute = ANY(:units)"
)


def _insert_appointment(
    conn: Connection, values: dict[str, object], email_limit: int | None, now: datetime
) -> None:
    """Insert the appointment; with `email_limit`, only while the address holds fewer upcoming
    appointments than that (counted by the same statement, after the per-address lock)."""
    if email_limit is None:
        conn.execute(_INSERT_APPOINTMENT, values)
        return
    inserted = conn.execute(_INSERT_IF_ROOM, {**values, "limit": email_limit, "now": now})
    if inserted.first() is None:
        raise BookingError("too_many_appointments", "email")


def _release_expired_holds(
    conn: Connection,
    now: datetime,
    counters: list[int] | None = None,
    units: list[int] | None = None,
) -> int:
    """Give the slots of unconfirmed holds back (those on the given units, or all of them)."""
    expired = select(APPOINTMENTS.c.id).where(
        APPOINTMENTS.c.status == Status.HELD, APPOINTMENTS.c.hold_until <= now
    )
    if counters is not None and units is not None:
        # Start from the occupancy rows (primary key), not from all held appointments.
        expired = (
            select(OCCUPANCY.c.appointment_id)
            .distinct()
            .join(APPOINTMENTS, APPOINTMENTS.c.id == OCCUPANCY.c.appointment_id)
            .where(
                OCCUPANCY.c.counter_id.in_(counters),
                OCCUPANCY.c.minute.in_(units),
                APPOINTMENTS.c.status == Status.HELD,
                APPOINTMENTS.c.hold_until <= now,
            )
        )
    ids = list(conn.scalars(expired))
    if ids:
        conn.execute(delete(OCCUPANCY).where(OCCUPANCY.c.appointment_id.in_(ids)))
        conn.execute(
            update(APPOINTMENTS)
            .where(APPOINTMENTS.c.id.in_(ids))
            .values(status=Status.RELEASED, updated_at=now)
        )
    return len(ids)


def release_expired_holds(store: Store, now: datetime) -> int:
    """Release every hold whose time is up (the mail worker calls this every round)."""
    with store.engine.begin() as conn:
        return _release_expired_holds(conn, now)


def _free_candidates(
    conn: Connection, offering: list[int], units: list[int], lock_email: str | None = None
) -> list[int]:
    """Counters offering the slot that looked free a moment ago, in random order.

    The order spreads a surge over the counters instead of queueing everyone on the first.
    With `lock_email`, the per-address lock is taken too (see _insert_appointment): PostgreSQL
    lets bookings for one address queue behind it; SQLite writes one at a time anyway.
    """
    if lock_email is not None and conn.dialect.name == "postgresql":
        rows = conn.scalars(
            _LOCK_AND_TAKEN, {"email": lock_email, "counters": offering, "units": units}
        )
        taken = {c for c in rows if c is not None}
    else:
        taken = set(conn.scalars(_TAKEN, {"counters": offering, "units": units}))
    candidates = [c for c in offering if c not in taken]
    random.shuffle(candidates)
    return candidates


def _occupy(conn: Connection, appointment_id: uuid.UUID, counter_id: int, units: list[int]) -> bool:
    """Take every unit on the counter, or none: the primary key decides, not this code.

    ON CONFLICT DO NOTHING waits for a competing transaction on the same rows and then skips
    what it committed; if any unit was skipped, ours are removed again.
    """
    rows = [
        {"counter_id": counter_id, "minute": m, "appointment_id": appointment_id} for m in units
    ]
    if len(conn.execute(_OCCUPY[conn.dialect.name], rows).all()) == len(units):
        return True
    conn.execute(_RELEASE, {"appointment": appointment_id, "counter": counter_id})
    return False


def _claim(
    conn: Connection, appointment_id: uuid.UUID, candidates: list[int], units: list[int]
) -> int:
    """Occupy the slot on the first candidate that is still free and assign the appointment."""
    for counter_id in candidates:
        conn.execute(_ASSIGN, {"appointment": appointment_id, "counter": counter_id})
        if _occupy(conn, appointment_id, counter_id, units):
            return counter_id
    raise SlotTaken([])


def book(
    store: Store,
    policy: BookingPolicy,
    now: datetime,
    request: BookingRequest,
    mails: MailPolicy | None = None,
    max_open: int | None = None,
    hold: timedelta | None = None,
    *,
    actor: str | None = None,
) -> Booked:
    """Book the requested slot on any free counter, or raise SlotTaken with alternatives.

    With `max_open`, an e-mail address may hold at most that many upcoming appointments. With
    `hold`, the slot is only held until the citizen confirms from the e-mail (see confirm()).
    With `actor` (staff booking for a citizen, e.g. "web:schmidt"), the booking is audited in
    its own transaction.
    """
    catalogue = store.catalogue()
    service = _service(catalogue, request.service_id)
    slot, offering = _requested_slot(catalogue, policy, now, service, request.start)
    units = grid_units(slot)

    def attempt() -> Booked:
        manage = new_token()
        join = join_token_for(manage)
        appointment = Appointment(
            uuid.uuid4(),
            service.id,
            slot.start,
            slot.end,
            Status.HELD if hold else Status.BOOKED,
            request.name,
            request.email,
            request.locale,
            now,
            None,
            now + hold if hold else None,
        )
        # Core, not the ORM: this is the hot path of a booking surge.
        with store.engine.begin() as conn:
            if hold is not None:  # with holds off, the worker releases leftovers
                _release_expired_holds(conn, now, offering, units)
            lock = request.email if max_open is not None else None
            candidates = _free_candidates(conn, offering, units, lock)
            if not candidates:
                raise SlotTaken([])
            _insert_appointment(
                conn,
                {
                    "id": appointment.id,
                    "service_id": service.id,
                    "counter_id": candidates[0],
                    "start_at": slot.start,
                    "end_at": slot.end,
                    "status": appointment.status,
                    "hold_until": appointment.hold_until,
                    "name": request.name,
                    "email": request.email,
                    "locale": request.locale,
                    "manage_token_hash": hash_token(manage),
                    "join_token_hash": hash_token(join),
                    "created_at": now,
                    "updated_at": now,
                    "cancelled_at": None,
                    "revision": 0,
                    "phone": request.phone or None,
                },
                max_open,
                now,
            )
            counter_id = candidates[0]
            if not _occupy(conn, appointment.id, counter_id, units):
                counter_id = _claim(conn, appointment.id, candidates[1:], units)
            if actor is not None:
                after = audit_values(slot.start, slot.end, counter_id, appointment.status)
                after["service"] = service.id
                after["per_address_limit"] = max_open  # None: lifted by the office
                record(
                    conn, now, actor, "appointment.book", audit_target(appointment.id), None, after
                )
            if mails is not None:
                kind = "hold" if hold else "confirmation"
                mails.enqueue(conn, appointment.id, manage, kind, slot.start, now, 0)
        if hold is None:  # a hold joins the counter's day once confirmed
            store.day_changed({counter_id})
        return Booked(appointment, manage, join)

    try:
        return retrying(attempt)
    except SlotTaken:
        raise SlotTaken(
            alternatives(store, policy, now, request.service_id, request.start)
        ) from None


def _owned(
    session: Session, appointment_id: uuid.UUID, manage_token: str, lock: bool
) -> AppointmentRow:
    query = select(AppointmentRow).where(AppointmentRow.id == appointment_id)
    if lock:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None or not hmac.compare_digest(row.manage_token_hash, hash_token(manage_token)):
        raise NotFound("appointment_not_found")
    return row


def _opened(
    session: Session, appointment_id: uuid.UUID, manage_token: str | None, actor: str | None
) -> AppointmentRow:
    """The appointment, locked: by its manage token (the citizen), or without one by staff
    acting for the citizen (`actor`, whom the audit log names; the caller checked their role)."""
    if manage_token is not None:
        return _owned(session, appointment_id, manage_token, lock=True)
    if actor is None:
        raise ValueError("a change without the manage token needs the staff member's name")
    row = session.scalar(
        select(AppointmentRow).where(AppointmentRow.id == appointment_id).with_for_update()
    )
    if row is None:
        raise NotFound("appointment_not_found")
    return row


def _secret_for_mail(session: Session, row: AppointmentRow, mails: MailPolicy | None) -> str:
    """The manage secret a mail about a change by staff carries (staff never see it): the one
    sealed into the appointment's earlier mails, so the citizen's links keep working; if none
    can be read, the appointment gets new secrets and the mail carries those."""
    if mails is None:
        return ""
    sealed = session.scalars(
        select(MailRow.sealed_token)
        .where(MailRow.appointment_id == row.id, MailRow.sealed_token != "")
        .order_by(MailRow.id.desc())
    )
    for kept in sealed:
        try:
            token = mails.sealer.unseal(kept)
        except ValueError:
            continue
        if hmac.compare_digest(row.manage_token_hash, hash_token(token)):
            return token
    token = new_token()
    row.manage_token_hash = hash_token(token)
    row.join_token_hash = hash_token(join_token_for(token))
    return token


def get(store: Store, appointment_id: uuid.UUID, manage_token: str) -> Appointment:
    """The appointment, if the token opens it."""

    def read() -> Appointment:
        with store.transaction() as session:
            return Appointment.of(_owned(session, appointment_id, manage_token, lock=False))

    return retrying(read)


def find_by_manage_token(store: Store, manage_token: str) -> Appointment:
    """The appointment behind a manage link (looked up by the token's hash)."""

    def read() -> Appointment:
        with store.transaction() as session:
            row = session.scalar(
                select(AppointmentRow).where(
                    AppointmentRow.manage_token_hash == hash_token(manage_token)
                )
            )
            if row is None:
                raise NotFound("appointment_not_found")
            return Appointment.of(row)

    return retrying(read)


def reschedule(
    store: Store,
    policy: BookingPolicy,
    now: datetime,
    appointment_id: uuid.UUID,
    manage_token: str | None,
    start: datetime,
    mails: MailPolicy | None = None,
    *,
    actor: str | None = None,
) -> Appointment:
    """Move the appointment atomically: if the new slot is taken, the old one is kept.

    Without `manage_token`, staff move it for the citizen: `actor` names them in the audit log,
    written in the same transaction; the citizen gets the same mail."""
    catalogue = store.catalogue()
    service_id = ""
    counters: set[int] = set()

    def attempt() -> Appointment:
        nonlocal service_id
        counters.clear()
        with store.transaction() as session:
            row = _opened(session, appointment_id, manage_token, actor)
            service_id = row.service_id
            counters.add(row.counter_id)
            check_changeable(row.status, row.hold_until, row.start_at, now)
            before = _row_audit(row)
            service = _service(catalogue, row.service_id)
            slot, offering = _requested_slot(catalogue, policy, now, service, start)
            units = grid_units(slot)
            conn = session.connection()
            conn.execute(delete(OCCUPANCY).where(OCCUPANCY.c.appointment_id == row.id))
            counter_id = _claim(conn, row.id, _free_candidates(conn, offering, units), units)
            row.counter_id, row.start_at, row.end_at = counter_id, slot.start, slot.end
            counters.add(counter_id)
            row.updated_at, row.revision = now, row.revision + 1
            token = (
                manage_token if manage_token is not None else _secret_for_mail(session, row, mails)
            )
            session.flush()
            if actor is not None:
                record(
                    session,
                    now,
                    actor,
                    "appointment.move",
                    audit_target(row.id),
                    before,
                    _row_audit(row),
                )
            if mails is not None:
                kind = "hold" if row.status == Status.HELD else "rescheduled"
                mails.enqueue(conn, row.id, token, kind, slot.start, now, row.revision)
            return Appointment.of(row)

    try:
        moved = retrying(attempt)
    except SlotTaken:
        raise SlotTaken(alternatives(store, policy, now, service_id, start)) from None
    store.day_changed(counters)  # the day it left and the day it joined
    return moved


def _transition(
    store: Store,
    now: datetime,
    appointment_id: uuid.UUID,
    manage_token: str | None,
    mails: MailPolicy | None,
    *,
    done: Status,
    change: Callable[[Session, AppointmentRow], None],
    mail_kind: str,
    actor: str | None = None,
    action: str = "",
) -> Appointment:
    """Apply `change` to an appointment the token opens (or staff, `actor`, open for the
    citizen), once (status `done` means done), and schedule its mail and audit `action` in the
    same transaction."""
    changed: set[int] = set()

    def attempt() -> Appointment:
        changed.clear()
        with store.transaction() as session:
            row = _opened(session, appointment_id, manage_token, actor)
            if row.status == done:
                return Appointment.of(row)
            check_changeable(row.status, row.hold_until, row.start_at, now)
            changed.add(row.counter_id)
            before = _row_audit(row)
            change(session, row)
            row.updated_at = now
            token = (
                manage_token if manage_token is not None else _secret_for_mail(session, row, mails)
            )
            session.flush()
            if actor is not None:
                record(session, now, actor, action, audit_target(row.id), before, _row_audit(row))
            if mails is not None:
                mails.enqueue(
                    session.connection(),
                    row.id,
                    token,
                    mail_kind,
                    row.start_at,
                    now,
                    row.revision,
                )
            return Appointment.of(row)

    appointment = retrying(attempt)
    store.day_changed(changed)
    return appointment


def cancel(
    store: Store,
    now: datetime,
    appointment_id: uuid.UUID,
    manage_token: str | None,
    mails: MailPolicy | None = None,
    *,
    actor: str | None = None,
    reason: str = "",
) -> Appointment:
    """Cancel and free the slot at once. Cancelling twice is harmless.

    Without `manage_token`, staff cancel for the citizen (`actor`, audited); `reason` is kept
    with the appointment and said in the cancellation mail."""

    def change(session: Session, row: AppointmentRow) -> None:
        session.execute(delete(OccupancyRow).where(OccupancyRow.appointment_id == row.id))
        row.status, row.cancelled_at, row.revision = Status.CANCELLED, now, row.revision + 1
        row.cancel_reason = reason or None

    return _transition(
        store,
        now,
        appointment_id,
        manage_token,
        mails,
        done=Status.CANCELLED,
        change=change,
        mail_kind="cancelled",
        actor=actor,
        action="appointment.cancel",
    )


def confirm(
    store: Store,
    now: datetime,
    appointment_id: uuid.UUID,
    manage_token: str,
    mails: MailPolicy | None = None,
) -> Appointment:
    """Turn a hold into a booking (the citizen clicked the link in the e-mail in time)."""

    def change(_session: Session, row: AppointmentRow) -> None:
        row.status, row.hold_until = Status.BOOKED, None

    return _transition(
        store,
        now,
        appointment_id,
        manage_token,
        mails,
        done=Status.BOOKED,
        change=change,
        mail_kind="confirmation",
    )

"""The office's register of appointments (the admin area's appointments pages): find them by
day, service, state and, within the limits of hub.booking.search, by the citizen's name or
e-mail address; open one. Booking for a citizen, moving and cancelling go through
hub.operations.booking (book, reschedule, cancel with `actor`), as for the citizens' pages."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, String, and_, cast, or_, select
from sqlalchemy.sql import Select

from hub.booking.emails import InvalidEmail, normalize_email
from hub.booking.search import OUTCOME_STATES, Search, State, reference_of, state_of
from hub.booking.status import ON_THE_DAY, Status
from hub.booking.timezone import end_of_local_day, start_of_local_day
from hub.operations.audit import record
from hub.store import Store
from hub.store.engine import retrying
from hub.store.models import AppointmentRow, CallRow, CounterRow, ServiceRow

MAX_RESULTS = 200  # one page; more matches ask for a narrower search

A = AppointmentRow.__table__
CALLS = CallRow.__table__
COUNTERS = CounterRow.__table__
SERVICES = ServiceRow.__table__


@dataclass(frozen=True)
class Found:
    """One appointment in a list of results; `name` only when the search asked for a person."""

    id: uuid.UUID
    reference: str
    service_id: str
    service_de: str
    service_en: str
    counter_id: int
    counter_name: str
    start: datetime
    end: datetime
    state: State
    name: str = ""

    def service_name(self, lang: str) -> str:
        """The service in `lang` ("de" or "en")."""
        return self.service_en if lang == "en" and self.service_en else self.service_de


@dataclass(frozen=True)
class Findings:
    """The results of a search: at most MAX_RESULTS, `more` when others matched too."""

    found: list[Found]
    more: bool
    named: bool  # the search asked for a person: the list names them


@dataclass(frozen=True)
class Opened(Found):
    """One appointment as its page shows it, with what the citizen gave."""

    email: str = ""
    phone: str = ""
    locale: str = "de"
    created_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str = ""
    changeable: bool = False  # may still be moved or cancelled


def _columns() -> Select[tuple[object, ...]]:
    return (
        select(
            A.c.id,
            A.c.service_id,
            SERVICES.c.name_de,
            SERVICES.c.name_en,
            A.c.counter_id,
            COUNTERS.c.name.label("counter_name"),
            A.c.start_at,
            A.c.end_at,
            A.c.status,
            A.c.hold_until,
            CALLS.c.outcome,
            A.c.name,
        )
        .join(SERVICES, SERVICES.c.id == A.c.service_id)
        .join(COUNTERS, COUNTERS.c.id == A.c.counter_id)
        .outerjoin(CALLS, CALLS.c.appointment_id == A.c.id)
    )


def _in_state(state: State, now: datetime) -> ColumnElement[bool]:
    """The SQL twin of hub.booking.search.state_of."""
    held = A.c.status == Status.HELD
    expired = and_(held, A.c.hold_until.is_not(None), A.c.hold_until <= now)
    if state is State.CANCELLED:
        return A.c.status == Status.CANCELLED
    if state is State.RELEASED:
        return or_(A.c.status == Status.RELEASED, expired)
    if state is State.HELD:
        return and_(held, or_(A.c.hold_until.is_(None), A.c.hold_until > now))
    booked = A.c.status == Status.BOOKED
    if state is State.BOOKED:
        return and_(
            booked, or_(CALLS.c.outcome.is_(None), CALLS.c.outcome.not_in(list(OUTCOME_STATES)))
        )
    return and_(booked, CALLS.c.outcome == state.value)


def _found(row: object, now: datetime, named: bool) -> Found:
    r = row._mapping  # type: ignore[attr-defined]
    return Found(
        id=r["id"],
        reference=reference_of(r["id"].hex),
        service_id=r["service_id"],
        service_de=r["name_de"],
        service_en=r["name_en"],
        counter_id=r["counter_id"],
        counter_name=r["counter_name"],
        start=r["start_at"],
        end=r["end_at"],
        state=state_of(Status(r["status"]), r["hold_until"], r["outcome"], now),
        name=r["name"] if named else "",
    )


def find(store: Store, search: Search, now: datetime) -> Findings:
    """The appointments starting on the searched days that match, earliest first. Raises
    BookingError for a search the office may not make (Search.check)."""
    search.check()
    query = _columns().where(
        A.c.start_at >= start_of_local_day(search.first_day),
        A.c.start_at < end_of_local_day(search.last_day),
    )
    if search.service_id is not None:
        query = query.where(A.c.service_id == search.service_id)
    if search.state is not None:
        query = query.where(_in_state(search.state, now))
    by_name = bool(search.who) and not search.by_email
    if search.by_email:
        try:
            email = normalize_email(search.who)
        except InvalidEmail:
            email = search.who.strip().lower()
        query = query.where(A.c.email == email)
    query = query.order_by(A.c.start_at, A.c.id)
    if not by_name:  # a name is compared here (any script's case), within the bounded range
        query = query.limit(MAX_RESULTS + 1)

    def read() -> list[Found]:
        with store.transaction() as session:
            rows = session.execute(query).all()
        named = bool(search.who)
        found = [_found(row, now, named) for row in rows]
        return [f for f in found if search.matches_name(f.name)] if by_name else found

    found = retrying(read)
    return Findings(found[:MAX_RESULTS], len(found) > MAX_RESULTS, bool(search.who))


def at_counters(
    store: Store, counter_ids: Collection[int], clerk_id: int, day: date, now: datetime
) -> list[Found]:
    """The appointments of local `day` (booked or cancelled, as a counter's day lists them) at
    `counter_ids`, or whose call `clerk_id` took or a counter of theirs took over, by time
    and counter, with the citizen's name (the clerk serves them; no address, no phone)."""
    here = list(counter_ids)
    query = (
        _columns()
        .where(
            A.c.start_at >= start_of_local_day(day),
            A.c.start_at < end_of_local_day(day),
            A.c.status.in_(list(ON_THE_DAY)),
            or_(
                A.c.counter_id.in_(here), CALLS.c.counter_id.in_(here), CALLS.c.clerk_id == clerk_id
            ),
        )
        .order_by(A.c.start_at, COUNTERS.c.name, A.c.id)
    )

    def read() -> list[Found]:
        with store.transaction() as session:
            rows = session.execute(query).all()
        return [_found(row, now, named=True) for row in rows]

    return retrying(read)


def note_opened(store: Store, appointment_id: uuid.UUID, actor: str, now: datetime) -> None:
    """Audit that `actor` opened an appointment's personal data (name, address, phone): its id,
    nothing of what was read."""
    with store.transaction() as session:
        target = f"appointment:{appointment_id}"  # as the changes to it are named
        record(session, now, actor, "read.appointment", target, None, None)


def note_search(store: Store, search: Search, found: int, actor: str, now: datetime) -> None:
    """Audit a search for a person (by name or e-mail address): the other criteria and how many
    appointments it found, never the name or address asked for."""
    criteria = {
        "from": search.first_day.isoformat(),
        "to": search.last_day.isoformat(),
        "service": search.service_id,
        "state": search.state.value if search.state else None,
        "by": "email" if search.by_email else "name",
        "found": found,
    }
    with store.transaction() as session:
        record(session, now, actor, "read.search", "appointments", None, criteria)


def by_reference(store: Store, reference: str) -> list[uuid.UUID]:
    """The appointments whose id begins with `reference` (8 lower-case hex digits, see
    hub.booking.search.parse_reference); one, as a rule."""
    text = cast(A.c.id, String)

    def read() -> list[uuid.UUID]:
        with store.transaction() as session:
            return list(session.scalars(select(A.c.id).where(text.like(f"{reference}%")).limit(5)))

    return retrying(read)


def open_appointment(store: Store, appointment_id: uuid.UUID, now: datetime) -> Opened | None:
    """One appointment with the citizen's name, address and phone, or None."""
    query = _columns().add_columns(
        A.c.email, A.c.phone, A.c.locale, A.c.created_at, A.c.cancelled_at, A.c.cancel_reason
    )

    def read() -> Opened | None:
        with store.transaction() as session:
            row = session.execute(query.where(A.c.id == appointment_id)).first()
        if row is None:
            return None
        found = _found(row, now, named=True)
        r = row._mapping
        status = Status(r["status"])
        return Opened(
            **found.__dict__,
            email=r["email"],
            phone=r["phone"] or "",
            locale=r["locale"],
            created_at=r["created_at"],
            cancelled_at=r["cancelled_at"],
            cancel_reason=r["cancel_reason"] or "",
            changeable=status.takes_time(r["hold_until"], now) and r["start_at"] > now,
        )

    return retrying(read)


@dataclass(frozen=True)
class ServiceName:
    """A service as the search's filter lists it (also one no longer offered)."""

    id: str
    name_de: str
    name_en: str
    active: bool

    def name(self, lang: str) -> str:
        """The name in `lang` ("de" or "en")."""
        return self.name_en if lang == "en" and self.name_en else self.name_de


def service_names(store: Store) -> list[ServiceName]:
    """Every service, offered or not, in the catalogue's order."""

    def read() -> list[ServiceName]:
        with store.transaction() as session:
            rows = session.execute(
                select(
                    SERVICES.c.id, SERVICES.c.name_de, SERVICES.c.name_en, SERVICES.c.active
                ).order_by(SERVICES.c.position, SERVICES.c.id)
            ).all()
        return [ServiceName(r.id, r.name_de, r.name_en, bool(r.active)) for r in rows]

    return retrying(read)

"""The catalogue as IT changes it: services, counters, closures, and the default data.

The CLI calls these, and so will the admin pages: the rules live here. Each function is one
transaction and refuses with a CatalogueError that says why. A counter's hours, exceptions and
service are in hub.operations.counters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.booking.rules import validate_duration
from hub.store import Store
from hub.store.models import ClosureRow, CounterRow, ScheduleRow, ServiceRow
from hub.store.seed import STANDARD_SCHEDULE, add_demo_counter, seed_defaults

MAX_FEE_CENTS = 10_000_000


class CatalogueError(ValueError):
    """A change to the catalogue that cannot be made; the message says why, `field` names the
    value at fault (None when it is the state of the catalogue, such as a name taken)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ServiceEntry:
    """A service as IT sees it in a listing."""

    id: str
    name_de: str
    duration_minutes: int
    fee_cents: int
    active: bool


def list_services(store: Store) -> list[ServiceEntry]:
    """Every service, offered or not, in the order citizens see them."""
    with store.transaction() as session:
        return [
            ServiceEntry(row.id, row.name_de, row.duration_minutes, row.fee_cents, row.active)
            for row in session.scalars(select(ServiceRow).order_by(ServiceRow.position))
        ]


def update_service(
    store: Store,
    service_id: str,
    *,
    fee_cents: int | None = None,
    duration_minutes: int | None = None,
    active: bool | None = None,
) -> None:
    """Change a service's fee, duration or whether it is offered; None leaves a value as it is.
    Appointments already booked keep the duration they were booked with."""
    if fee_cents is not None and not 0 <= fee_cents <= MAX_FEE_CENTS:
        raise CatalogueError(f"fees lie between 0 and {MAX_FEE_CENTS} cents", "fee_cents")
    if duration_minutes is not None:
        try:
            validate_duration(duration_minutes)
        except ValueError as exc:
            raise CatalogueError(str(exc), "duration_minutes") from None
    with store.transaction() as session:
        row = session.get(ServiceRow, service_id)
        if row is None:
            raise CatalogueError(f"no service with id {service_id!r}")
        if fee_cents is not None:
            row.fee_cents = fee_cents
        if duration_minutes is not None:
            row.duration_minutes = duration_minutes
        if active is not None:
            row.active = active
    store.forget_catalogue()


def _schedule(session: Session, name: str) -> ScheduleRow:
    schedule = session.scalar(select(ScheduleRow).where(ScheduleRow.name == name))
    if schedule is None:
        raise CatalogueError(f"no schedule named {name!r}")
    return schedule


def add_counter(store: Store, name: str, schedule: str = STANDARD_SCHEDULE) -> int:
    """Add a counter keeping the named schedule; returns its id. It takes bookings once an
    appliance is enrolled for it (hub.operations.accounts.add_device)."""
    if not name.strip():
        raise CatalogueError("a counter needs a name", "name")
    try:
        with store.transaction() as session:
            row = CounterRow(name=name, schedule_id=_schedule(session, schedule).id)
            session.add(row)
            session.flush()
            counter_id = row.id
    except IntegrityError:  # the name is unique; a concurrent add may have taken it
        raise CatalogueError(f"a counter named {name!r} exists already") from None
    store.forget_catalogue()
    return counter_id


def add_closure(
    store: Store,
    first_day: date,
    last_day: date | None = None,
    reason: str = "",
    schedule: str = STANDARD_SCHEDULE,
) -> None:
    """Close the schedule's counters from `first_day` to `last_day` (inclusive; one day when
    None). Appointments already booked in that time stay as they are."""
    last_day = last_day or first_day
    if last_day < first_day:
        raise CatalogueError("a closure cannot end before it begins", "last_day")
    with store.transaction() as session:
        session.add(
            ClosureRow(
                schedule_id=_schedule(session, schedule).id,
                first_day=first_day,
                last_day=last_day,
                reason=reason,
            )
        )
    store.forget_catalogue()


def seed(store: Store, *, demo: bool = False) -> bool:
    """Fill an empty database with the default services, hours and counters (True if it did);
    with `demo`, also the demo counter open around the clock (once)."""
    with store.transaction() as session:
        seeded = seed_defaults(session)
        if demo:
            add_demo_counter(session)
    store.forget_catalogue()
    return seeded

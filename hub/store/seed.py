"""Default data for a fresh database: the seed's services with their fees, opening hours and two
counters."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.booking.catalogue import SEED_SERVICES
from hub.booking.fees import SEED_FEES
from hub.booking.schedule import AROUND_THE_CLOCK, SEED_PERIODS, OpeningPeriod
from hub.store.fees import replace_fee_items
from hub.store.models import CounterRow, OpeningPeriodRow, ScheduleRow, ServiceRow

STANDARD_SCHEDULE = "Standard"
DEMO_SCHEDULE = "Demo (rund um die Uhr)"
DEMO_COUNTER = "Demo-Schalter"


def _period_row(p: OpeningPeriod) -> OpeningPeriodRow:
    closes = 1440 if p.closes is None else p.closes.hour * 60 + p.closes.minute
    return OpeningPeriodRow(
        weekday=p.weekday, opens_minute=p.opens.hour * 60 + p.opens.minute, closes_minute=closes
    )


def add_schedule(
    session: Session, name: str, periods: Iterable[OpeningPeriod], holidays: str | None = "BW"
) -> ScheduleRow:
    """Create a schedule with the given weekly periods."""
    row = ScheduleRow(
        name=name, holiday_subdivision=holidays, periods=[_period_row(p) for p in periods]
    )
    session.add(row)
    session.flush()
    return row


def seed_defaults(session: Session, counters: int = 2, *, without_appliance: bool = False) -> bool:
    """Fill an empty database; returns False (and changes nothing) if it holds services already.

    The counters take bookings once an appliance is enrolled for them; with `without_appliance`
    (tests, trials) at once.
    """
    if session.scalar(select(func.count()).select_from(ServiceRow)):
        return False
    for s in SEED_SERVICES:
        session.add(
            ServiceRow(
                id=s.id,
                name_de=s.name_de,
                name_en=s.name_en,
                description_de=s.description_de,
                description_en=s.description_en,
                duration_minutes=s.duration_minutes,
                fee_cents=s.fee_cents,
                documents_de=list(s.documents_de),
                documents_en=list(s.documents_en),
                position=s.position,
            )
        )
    session.flush()
    for service_id, items in SEED_FEES.items():
        replace_fee_items(session, service_id, items)
    standard = add_schedule(session, STANDARD_SCHEDULE, SEED_PERIODS)
    for n in range(1, counters + 1):
        session.add(
            CounterRow(
                name=f"Schalter {n}", schedule_id=standard.id, without_appliance=without_appliance
            )
        )
    session.flush()
    return True


def add_demo_counter(session: Session) -> bool:
    """A counter open around the clock so the demo can be booked at any hour; idempotent."""
    if session.scalar(select(ScheduleRow).where(ScheduleRow.name == DEMO_SCHEDULE)):
        return False
    demo = add_schedule(session, DEMO_SCHEDULE, AROUND_THE_CLOCK, holidays=None)
    session.add(CounterRow(name=DEMO_COUNTER, schedule_id=demo.id))
    session.flush()
    return True

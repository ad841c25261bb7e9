"""Consistency checks that read the whole database (benchmarks, admin checks, tests)."""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from hub.booking.status import OCCUPYING
from hub.store.models import AppointmentRow


def double_bookings(session: Session) -> int:
    """Pairs of booked appointments that overlap on one counter; must always be 0."""
    a, b = aliased(AppointmentRow), aliased(AppointmentRow)
    # Each overlapping pair once, as (earlier start, later start): b starts inside a. Bounding
    # b.start_at by a's span lets the start_at index do the work on a year of appointments.
    query = (
        select(func.count())
        .select_from(a)
        .join(
            b,
            and_(
                a.counter_id == b.counter_id,
                b.start_at >= a.start_at,
                b.start_at < a.end_at,
                or_(a.start_at < b.start_at, a.id < b.id),
            ),
        )
        .where(a.status.in_(OCCUPYING), b.status.in_(OCCUPYING))
    )
    return int(session.scalar(query) or 0)

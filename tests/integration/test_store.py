"""The database itself refuses double booking, and migrations match the models."""

import uuid
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from hub.booking.schedule import Interval
from hub.booking.slots import grid_units
from hub.store.audit import double_bookings
from hub.store.engine import make_engine
from hub.store.migrate import downgrade, upgrade
from hub.store.models import AppointmentRow, Base, CounterRow, OccupancyRow
from tests.support.environment import berlin


def _appointment(session, counter_id, start, end):
    row = AppointmentRow(
        id=uuid.uuid4(),
        service_id="meldebescheinigung",
        counter_id=counter_id,
        start_at=start,
        end_at=end,
        name="A",
        email="a@example.org",
        manage_token_hash=uuid.uuid4().hex * 2,
        join_token_hash=uuid.uuid4().hex * 2,
        created_at=datetime.now(UTC),
        updated_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return row


def _occupy(session, counter_id, appointment_id, span):
    session.execute(
        insert(OccupancyRow),
        [
            {"counter_id": counter_id, "minute": m, "appointment_id": appointment_id}
            for m in grid_units(span)
        ],
    )


def test_database_refuses_overlapping_occupancy_on_one_counter(store):
    """Bypassing every Python check: the primary key alone stops the second booking."""
    first = Interval(berlin(2026, 3, 2, 8, 0), berlin(2026, 3, 2, 8, 20))
    overlapping = Interval(berlin(2026, 3, 2, 8, 15), berlin(2026, 3, 2, 8, 25))
    with store.transaction() as session:
        counter = session.scalars(select(CounterRow.id).order_by(CounterRow.id)).first()
        a = _appointment(session, counter, first.start, first.end)
        _occupy(session, counter, a.id, first)
    with pytest.raises(IntegrityError), store.transaction() as session:
        b = _appointment(session, counter, overlapping.start, overlapping.end)
        _occupy(session, counter, b.id, overlapping)
    with store.transaction() as session:
        assert len(session.scalars(select(AppointmentRow)).all()) == 1  # nothing half-written
        assert double_bookings(session) == 0


def test_the_audit_sees_overlaps_written_around_the_grid(store):
    """double_bookings() is the benchmarks' judge, so it must itself be able to fail."""
    with store.transaction() as session:
        counter = session.scalars(select(CounterRow.id)).first()
        _appointment(session, counter, berlin(2026, 3, 2, 8, 0), berlin(2026, 3, 2, 8, 20))
        _appointment(session, counter, berlin(2026, 3, 2, 8, 15), berlin(2026, 3, 2, 8, 25))
        _appointment(session, counter, berlin(2026, 3, 2, 8, 25), berlin(2026, 3, 2, 8, 30))
        assert double_bookings(session) == 1


def test_adjacent_appointments_share_no_unit(store):
    a_span = Interval(berlin(2026, 3, 2, 8, 0), berlin(2026, 3, 2, 8, 10))
    b_span = Interval(berlin(2026, 3, 2, 8, 10), berlin(2026, 3, 2, 8, 20))
    with store.transaction() as session:
        counter = session.scalars(select(CounterRow.id)).first()
        for span in (a_span, b_span):
            row = _appointment(session, counter, span.start, span.end)
            _occupy(session, counter, row.id, span)
    with store.transaction() as session:
        assert len(session.scalars(select(OccupancyRow)).all()) == 4


def test_datetimes_come_back_as_the_same_utc_instant(store):
    start = berlin(2026, 10, 25, 2, 30)  # inside the repeated hour of the autumn change
    with store.transaction() as session:
        counter = session.scalars(select(CounterRow.id)).first()
        row = _appointment(session, counter, start, berlin(2026, 10, 25, 2, 40))
        ident = row.id
    with store.transaction() as session:
        again = session.get(AppointmentRow, ident)
        # Compare in UTC: Python refuses == across zones for times in a repeated hour.
        assert again.start_at == start.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_migrations_match_models_and_run_down_and_up(db_url):
    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []
    downgrade(db_url, "base")
    upgrade(db_url)


def test_occupy_takes_all_units_or_none(store):
    """A partly taken span is rolled back to nothing, and the earlier holder keeps its units."""
    from hub.operations.booking import _occupy

    first = Interval(berlin(2026, 3, 2, 8, 0), berlin(2026, 3, 2, 8, 10))
    second = Interval(berlin(2026, 3, 2, 8, 5), berlin(2026, 3, 2, 8, 20))
    with store.transaction() as session:
        counter = session.scalars(select(CounterRow.id)).first()
        a = _appointment(session, counter, first.start, first.end)
        b = _appointment(session, counter, second.start, second.end)
        conn = session.connection()
        assert _occupy(conn, a.id, counter, grid_units(first))
        assert not _occupy(conn, b.id, counter, grid_units(second))
        held = session.execute(select(OccupancyRow.appointment_id, OccupancyRow.minute)).all()
    assert sorted(m for _, m in held) == grid_units(first)
    assert {i for i, _ in held} == {a.id}

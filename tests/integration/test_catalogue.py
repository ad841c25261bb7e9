"""Catalogue edits as the CLI and the admin pages make them (hub.operations.catalogue): each
takes effect at once in this process, and a refused one changes nothing."""

from __future__ import annotations

from datetime import date

import pytest

from hub.operations.catalogue import (
    CatalogueError,
    add_closure,
    add_counter,
    list_services,
    seed,
)
from hub.operations.counters import find_counter, list_counters
from hub.operations.services import change_service
from hub.store.seed import DEMO_COUNTER
from tests.support.environment import MONDAY_EARLY


def update_service(store, service_id: str, **changes):
    """`buergeramt services set` (active is the draft's field for whether citizens see it)."""
    return change_service(store, service_id, actor="cli:test", now=MONDAY_EARLY, **changes)


def service(store, service_id):
    return next(s for s in list_services(store) if s.id == service_id)


def test_a_service_changes_fee_duration_and_whether_it_is_offered(store):
    store.catalogue()  # cached: the change must show at once all the same
    update_service(store, "anmeldung", fee_cents=1250, duration_minutes=30, active=False)
    assert service(store, "anmeldung").fee_cents == 1250
    assert service(store, "anmeldung").duration_minutes == 30
    assert "anmeldung" not in store.catalogue().services
    update_service(store, "anmeldung", active=True)
    assert store.catalogue().services["anmeldung"].duration_minutes == 30


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"duration_minutes": 7}, "duration_minutes", "multiples of 5"),
        ({"duration_minutes": 485}, "duration_minutes", "at most 480"),
        ({"fee_cents": -1}, "fee_cents", "between 0 and"),
    ],
)
def test_a_service_refuses_values_the_booking_rules_cannot_take(store, change, field, message):
    before = service(store, "anmeldung")
    with pytest.raises(CatalogueError, match=message) as refused:
        update_service(store, "anmeldung", **change)
    assert refused.value.field == field
    assert service(store, "anmeldung") == before


def test_an_unknown_service_is_named_and_nothing_changes(store):
    with pytest.raises(CatalogueError, match="no service with id 'nope'") as refused:
        update_service(store, "nope", fee_cents=5)
    assert refused.value.field is None


def test_a_counter_is_added_once_by_name_and_keeps_a_known_schedule(store):
    counter_id = add_counter(store, "Schalter 3")
    assert find_counter(store, "Schalter 3") == counter_id
    with pytest.raises(CatalogueError, match="exists already"):
        add_counter(store, "Schalter 3")
    with pytest.raises(CatalogueError, match="no schedule named 'Nacht'"):
        add_counter(store, "Schalter 4", "Nacht")
    with pytest.raises(CatalogueError, match="needs a name") as blank:
        add_counter(store, "  ")
    assert blank.value.field == "name"
    assert [c.name for c in list_counters(store)] == ["Schalter 1", "Schalter 2", "Schalter 3"]


def test_a_closure_closes_the_schedule_for_its_days(store):
    store.catalogue()  # cached: the closure must show at once all the same
    add_closure(store, date(2026, 12, 28), date(2026, 12, 30), "Jahreswechsel")
    add_closure(store, date(2027, 1, 4))
    schedule = store.catalogue().counters[0].schedule
    closed = [d for d in range(27, 32) if schedule.is_closed_all_day(date(2026, 12, d))]
    assert closed == [28, 29, 30]
    assert schedule.is_closed_all_day(date(2027, 1, 4))
    assert not schedule.is_closed_all_day(date(2027, 1, 5))
    with pytest.raises(CatalogueError, match="end before it begins") as reversed_:
        add_closure(store, date(2026, 12, 24), date(2026, 12, 1))
    assert reversed_.value.field == "last_day"
    with pytest.raises(CatalogueError, match="no schedule named 'Nacht'"):
        add_closure(store, date(2026, 12, 24), schedule="Nacht")


def test_seeding_fills_an_empty_database_once_and_adds_the_demo_counter_once(store):
    assert seed(store) is False  # the fixture seeded it already
    seed(store, demo=True)
    seed(store, demo=True)
    assert [c.name for c in list_counters(store)].count(DEMO_COUNTER) == 1

"""Call steps that happen only from one state, each in one transaction (hub.operations.calls)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hub.calls.lifecycle import Event, State
from hub.calls.window import JoinWindow
from hub.operations import calls
from hub.store.models import CallEventRow, CallRow
from tests.support.environment import berlin
from tests.support.realtime_clients import make_desk

NINE = berlin(2026, 3, 2, 9, 0)
TEN_TO = berlin(2026, 3, 2, 8, 50)
WINDOW = JoinWindow(timedelta(minutes=15), timedelta(minutes=15))


@pytest.fixture
def desk(store):
    return make_desk(store, TEN_TO)


def admitted(desk):
    """An appointment at nine whose citizen is waiting and was admitted at the counter."""
    booking = desk.book(NINE)
    calls.citizen_join(desk.store, booking.join_token, "page", TEN_TO, WINDOW)
    device = desk.device_ids[booking.counter]
    calls.admit(desk.store, booking.id, device, booking.counter, 1, TEN_TO, timedelta(seconds=30))
    return booking


def events(store, appointment_id) -> int:
    with store.transaction() as session:
        return session.scalar(
            select(func.count())
            .select_from(CallEventRow)
            .where(CallEventRow.appointment_id == appointment_id)
        )


def test_the_first_offer_moves_an_admitted_call_to_connecting_and_only_that(desk):
    booking = admitted(desk)
    call = calls.advance_from(desk.store, booking.id, State.ADMITTED, Event.OFFER, TEN_TO)
    assert call is not None and call.state is State.CONNECTING
    recorded = events(desk.store, booking.id)

    again = calls.advance_from(desk.store, booking.id, State.ADMITTED, Event.OFFER, TEN_TO)
    assert again is None
    assert events(desk.store, booking.id) == recorded


def test_an_offer_for_a_call_nobody_joined_writes_nothing(desk):
    booking = desk.book(NINE)
    assert calls.advance_from(desk.store, booking.id, State.ADMITTED, Event.OFFER, TEN_TO) is None
    with desk.store.transaction() as session:
        assert session.get(CallRow, booking.id) is None


def test_media_already_reported_is_not_recorded_twice(desk):
    booking = admitted(desk)
    device = (desk.device_ids[booking.counter], booking.counter)
    call = calls.advance_unless(
        desk.store, booking.id, Event.CONNECTED, State.IN_CALL, TEN_TO, device=device
    )
    assert call is not None and call.state is State.IN_CALL
    recorded = events(desk.store, booking.id)

    again = calls.advance_unless(
        desk.store, booking.id, Event.CONNECTED, State.IN_CALL, TEN_TO, device=device
    )
    assert again is None
    assert events(desk.store, booking.id) == recorded
    lost = calls.advance_unless(desk.store, booking.id, Event.LOST, State.RECONNECTING, TEN_TO)
    assert lost is not None and lost.state is State.RECONNECTING

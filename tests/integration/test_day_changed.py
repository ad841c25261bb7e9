"""The counter's day is pushed, not polled: a booking, a move, a cancellation or a device check
reaches the signed-in appliance of that counter as `day_changed` at once (docs/protocol.md)."""

from __future__ import annotations

import queue
import uuid

import httpx
import pytest

from tests.support.environment import MONDAY_EARLY, berlin
from tests.support.realtime_clients import Party, appliance, make_desk, signed_in


@pytest.fixture
def desk(sqlite_store):
    return make_desk(sqlite_store, MONDAY_EARLY)


@pytest.fixture
def hub(sqlite_store, serve_hub, desk):
    return serve_hub(sqlite_store.url, clock_start=berlin(2026, 3, 2, 8, 50).isoformat())


def quiet(party: Party, event: str, seconds: float = 1.0) -> bool:
    """True when `event` did not arrive within `seconds`."""
    try:
        party.next(event, timeout=seconds)
    except AssertionError:
        return True
    return False


def drain(party: Party) -> None:
    while True:
        try:
            party.inbox.get_nowait()
        except queue.Empty:
            return


def test_the_counter_s_signed_in_appliance_hears_of_every_change_to_its_day(desk, hub):
    counters = sorted(desk.credentials)
    assert len(counters) == 2
    parties = {}
    for counter, user in zip(counters, ("clerk", "clerk2"), strict=True):
        party = parties[counter] = appliance(hub.url, desk.credentials[counter]).connect()
        party.next("hello")
        signed_in(party, user)
    for party in parties.values():
        drain(party)

    api = f"{hub.url}/api/v1/appointments"
    booked = httpx.post(
        api,
        json={
            "service_id": "meldebescheinigung",
            "start": berlin(2026, 3, 2, 10, 0).isoformat(),
            "name": "Erika Mustermann",
            "email": "erika@example.org",
        },
    )
    assert booked.status_code == 201, booked.text
    appointment, token = booked.json()["id"], booked.json()["manage_token"]
    counter = desk.counter_of(uuid.UUID(appointment))
    own = parties[counter]
    other = parties[next(c for c in counters if c != counter)]

    # Booked: the counter's appliance hears it within 2 s (nothing personal in the event),
    # and its day now holds the appointment; the other counter hears nothing.
    assert own.next("day_changed", timeout=2) == {"counter": counter}
    day = own.call("day", {})
    assert [e["appointment"] for e in day["day"]] == [appointment]
    assert quiet(other, "day_changed")

    # The citizen's call page reports its device check: the day shows it.
    join = desk_join_token(token)
    checked = httpx.post(f"{hub.url}/join/{join}/device-check", json={"result": "audio_only"})
    assert checked.status_code == 204, checked.text
    assert own.next("day_changed", timeout=2) == {"counter": counter}
    assert own.call("day", {})["day"][0]["device_check"] == "audio_only"

    # Moved (possibly to the other counter: then both hear it) and cancelled.
    headers = {"Authorization": f"Bearer {token}"}
    eleven = berlin(2026, 3, 2, 11, 0).isoformat()
    moved = httpx.patch(f"{api}/{appointment}", json={"start": eleven}, headers=headers)
    assert moved.status_code == 200, moved.text
    now_at = desk.counter_of(uuid.UUID(appointment))
    assert parties[now_at].next("day_changed", timeout=2) == {"counter": now_at}
    if now_at != counter:
        assert own.next("day_changed", timeout=2) == {"counter": counter}
    cancelled = httpx.delete(f"{api}/{appointment}", headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    assert parties[now_at].next("day_changed", timeout=2) == {"counter": now_at}
    assert parties[now_at].call("day", {})["day"][0]["cancelled"] is True


def test_appliances_without_a_signed_in_clerk_hear_nothing(desk, hub):
    parties = [appliance(hub.url, credential).connect() for credential in desk.credentials.values()]
    for party in parties:
        party.next("hello")
    response = httpx.post(
        f"{hub.url}/api/v1/appointments",
        json={
            "service_id": "meldebescheinigung",
            "start": berlin(2026, 3, 2, 10, 15).isoformat(),
            "name": "Erika Mustermann",
            "email": "erika@example.org",
        },
    )
    assert response.status_code == 201, response.text
    assert all(quiet(party, "day_changed", 1.0) for party in parties)


def desk_join_token(manage_token: str) -> str:
    from hub.booking.tokens import join_token_for

    return join_token_for(manage_token)

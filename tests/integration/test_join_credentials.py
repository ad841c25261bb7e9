"""TURN credentials and the device check behind a join link: only for a live appointment, only
while its call can still happen, short-lived days ahead, and rate-limited (issue 12, point 5)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from hub import create_app
from hub.booking.tokens import join_token_for
from hub.clock import fixed_clock
from hub.store.models import AppointmentRow
from tests.support.environment import MONDAY_EARLY
from tests.support.hub import make_settings

START = "2026-03-02T10:00:00+01:00"  # 10 minutes; the join window is 09:45 to 10:25
TURN = {"turn_urls": ["turn:127.0.0.1:3478"], "turn_secret": "s3cret", "turn_ttl_minutes": 180}


@pytest.fixture
def turn_app(store, tmp_path):
    return create_app(
        make_settings(tmp_path, database_url=store.url, **TURN),
        clock=fixed_clock(MONDAY_EARLY),
        store=store,
        TESTING=True,
    )


def at(app, hour: int, minute: int = 0) -> datetime:
    instant = MONDAY_EARLY.replace(hour=hour, minute=minute)
    app.extensions["clock"] = fixed_clock(instant)
    return instant


def booked(client) -> dict:
    response = client.post(
        "/api/v1/appointments",
        json={
            "service_id": "meldebescheinigung",
            "start": START,
            "name": "Erika Mustermann",
            "email": "erika@example.org",
        },
    )
    assert response.status_code == 201, response.json
    body = response.json
    body["join_token"] = join_token_for(body["manage_token"])
    return body


def turn_expiry(response) -> datetime:
    assert response.status_code == 200, response.data
    turn = [s for s in response.json["ice_servers"] if "username" in s]
    assert turn, response.json
    return datetime.fromtimestamp(int(turn[0]["username"].split(":")[0])).astimezone()


def test_days_ahead_the_check_gets_credentials_that_expire_soon(turn_app):
    client = turn_app.test_client()
    appt = booked(client)
    now = at(turn_app, 7)  # three hours before: the device check, not the call
    expires = turn_expiry(client.get(f"/join/{appt['join_token']}/ice"))
    assert expires - now <= timedelta(minutes=15)
    # In the join window the call's own lifetime applies.
    now = at(turn_app, 9, 50)
    expires = turn_expiry(client.get(f"/join/{appt['join_token']}/ice"))
    assert expires - now > timedelta(minutes=60)


def test_a_cancelled_appointment_gets_no_credentials_and_no_device_check(turn_app, store):
    client = turn_app.test_client()
    appt = booked(client)
    auth = {"Authorization": f"Bearer {appt['manage_token']}"}
    assert client.delete(f"/api/v1/appointments/{appt['id']}", headers=auth).status_code == 200
    at(turn_app, 9, 50)  # even inside the window
    assert client.get(f"/join/{appt['join_token']}/ice").status_code in (404, 410)
    check = client.post(f"/join/{appt['join_token']}/device-check", json={"result": "ready"})
    assert check.status_code in (404, 410)
    with store.transaction() as session:
        row = session.scalar(select(AppointmentRow))
        assert row.device_check is None


def test_after_the_window_the_link_gives_nothing_any_more(turn_app, store):
    client = turn_app.test_client()
    appt = booked(client)
    at(turn_app, 10, 20)  # still in the grace after the end
    assert client.get(f"/join/{appt['join_token']}/ice").status_code == 200
    at(turn_app, 11)
    assert client.get(f"/join/{appt['join_token']}/ice").status_code in (404, 410)
    check = client.post(f"/join/{appt['join_token']}/device-check", json={"result": "ready"})
    assert check.status_code in (404, 410)
    assert client.get(f"/join/{'z' * 43}/ice").status_code == 404


def test_credentials_are_rate_limited(store, tmp_path):
    app = create_app(
        make_settings(
            tmp_path,
            database_url=store.url,
            rate_limit_enabled=True,
            rate_limit_booking="5/minute",
            rate_limit_per_email="50/minute",
            **TURN,
        ),
        clock=fixed_clock(MONDAY_EARLY),
        store=store,
        TESTING=True,
    )
    client = app.test_client()
    appt = booked(client)
    statuses = [client.get(f"/join/{appt['join_token']}/ice").status_code for _ in range(12)]
    assert 200 in statuses and statuses[-1] == 429
    checks = [
        client.post(f"/join/{appt['join_token']}/device-check", json={"result": "ready"})
        for _ in range(12)
    ]
    assert checks[-1].status_code == 429

"""The JSON API's booking flow against SQLite and PostgreSQL: book, read, reschedule, cancel."""

import uuid
from datetime import date

import pytest
from sqlalchemy import func, select

from hub.store.models import AppointmentRow, OccupancyRow
from tests.support.environment import MONDAY_EARLY, berlin
from tests.support.forms import form_token

SERVICE = "meldebescheinigung"  # 10 minutes


def book(client, start, email="erika@example.org", service=SERVICE, **extra):
    body = {"service_id": service, "start": start, "name": "Erika Mustermann", "email": email}
    return client.post("/api/v1/appointments", json={**body, **extra})


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def slot_starts(client, day="2026-03-02", service=SERVICE):
    response = client.get(f"/api/v1/services/{service}/slots?from={day}&to={day}")
    assert response.status_code == 200
    return [s["start"] for s in response.json["slots"]]


def count(store, model=AppointmentRow):
    with store.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_services_in_german_by_default_and_english_on_request(client):
    de = client.get("/api/v1/services").json["services"]
    en = client.get("/api/v1/services", headers={"Accept-Language": "en-GB,en;q=0.9"}).json
    en_param = client.get("/api/v1/services?lang=en").json
    ids = [s["id"] for s in de]
    assert len(ids) == 9 and "fuehrungszeugnis" in ids
    assert de[0]["name"] == "An- und Ummeldung"
    assert en["services"][0]["name"].startswith("Registering")
    assert en_param == en
    fz = next(s for s in de if s["id"] == "fuehrungszeugnis")
    assert fz["fee_cents"] > 0 and fz["duration_minutes"] == 10 and fz["documents"]


def test_book_returns_links_and_the_slot_is_then_taken_on_that_counter(client, store):
    first = book(client, "2026-03-02T08:00:00+01:00")
    assert first.status_code == 201, first.json
    body = first.json
    assert body["start"] == "2026-03-02T08:00:00+01:00"
    assert body["end"] == "2026-03-02T08:10:00+01:00"
    assert body["manage_url"].endswith(body["manage_token"])
    assert "/join/" in body["join_url"] and body["manage_token"] not in body["join_url"]
    assert first.headers["Location"].endswith(body["id"])
    # Two counters: the slot stays on offer until the second one is booked too.
    assert "2026-03-02T08:00:00+01:00" in slot_starts(client)
    assert book(client, "2026-03-02T08:00:00+01:00", email="max@example.org").status_code == 201
    assert "2026-03-02T08:00:00+01:00" not in slot_starts(client)
    third = book(client, "2026-03-02T08:00:00+01:00", email="eva@example.org")
    assert third.status_code == 409
    error = third.json["error"]
    assert error["code"] == "slot_taken" and error["field"] == "start"
    assert error["alternatives"][0]["start"] == "2026-03-02T08:15:00+01:00"
    assert count(store) == 2


def test_the_same_instant_in_utc_books_the_same_slot(client):
    assert book(client, "2026-03-02T07:00:00Z").json["start"] == "2026-03-02T08:00:00+01:00"


def test_only_hashes_of_the_secrets_are_stored(client, store):
    body = book(client, "2026-03-02T09:00:00+01:00").json
    join_token = body["join_url"].rsplit("/", 1)[1]
    with store.transaction() as session:
        row = session.get(AppointmentRow, uuid.UUID(body["id"]))
        stored = " ".join(str(v) for v in vars(row).values())
    assert body["manage_token"] not in stored and join_token not in stored
    assert len(row.manage_token_hash) == 64


def test_read_needs_the_right_token_and_wrong_looks_like_missing(client):
    body = book(client, "2026-03-02T09:00:00+01:00").json
    ok = client.get(f"/api/v1/appointments/{body['id']}", headers=auth(body["manage_token"]))
    assert ok.status_code == 200 and ok.json["name"] == "Erika Mustermann"
    assert ok.json["join_url"] == body["join_url"]
    other = book(client, "2026-03-02T09:15:00+01:00").json
    wrong = client.get(f"/api/v1/appointments/{body['id']}", headers=auth(other["manage_token"]))
    missing = client.get(
        "/api/v1/appointments/00000000-0000-4000-8000-000000000000",
        headers=auth(body["manage_token"]),
    )
    join_token = body["join_url"].rsplit("/", 1)[1]
    with_join = client.get(f"/api/v1/appointments/{body['id']}", headers=auth(join_token))
    assert wrong.status_code == missing.status_code == with_join.status_code == 404
    assert wrong.json == missing.json == with_join.json
    no_token = client.get(f"/api/v1/appointments/{body['id']}")
    assert no_token.status_code == 401 and no_token.json["error"]["code"] == "token_required"


def test_reschedule_moves_and_frees_the_old_slot(client, store):
    body = book(client, "2026-03-02T10:00:00+01:00").json
    moved = client.patch(
        f"/api/v1/appointments/{body['id']}",
        json={"start": "2026-03-04T14:30:00+01:00"},
        headers=auth(body["manage_token"]),
    )
    assert moved.status_code == 200, moved.json
    assert moved.json["start"] == "2026-03-04T14:30:00+01:00"
    with store.transaction() as session:
        units = session.scalar(select(func.count()).select_from(OccupancyRow))
    assert units == 2  # 10 minutes = two 5-minute units, only at the new time
    # Fill both counters at 10:00 again: possible only because the old slot was freed.
    assert book(client, "2026-03-02T10:00:00+01:00", email="a@example.org").status_code == 201
    assert book(client, "2026-03-02T10:00:00+01:00", email="b@example.org").status_code == 201


def test_reschedule_to_a_taken_slot_keeps_the_old_one(client, store):
    mine = book(client, "2026-03-02T10:00:00+01:00").json
    book(client, "2026-03-02T11:00:00+01:00", email="a@example.org")
    book(client, "2026-03-02T11:00:00+01:00", email="b@example.org")
    refused = client.patch(
        f"/api/v1/appointments/{mine['id']}",
        json={"start": "2026-03-02T11:00:00+01:00"},
        headers=auth(mine["manage_token"]),
    )
    assert refused.status_code == 409
    assert refused.json["error"]["alternatives"]
    kept = client.get(f"/api/v1/appointments/{mine['id']}", headers=auth(mine["manage_token"]))
    assert kept.json["start"] == "2026-03-02T10:00:00+01:00"
    with store.transaction() as session:
        units = session.scalars(
            select(OccupancyRow.minute).where(OccupancyRow.appointment_id == uuid.UUID(mine["id"]))
        ).all()
    assert len(units) == 2


def test_cancel_frees_the_slot_at_once_and_is_idempotent(client):
    a = book(client, "2026-03-02T08:30:00+01:00").json
    book(client, "2026-03-02T08:30:00+01:00", email="b@example.org")
    assert "2026-03-02T08:30:00+01:00" not in slot_starts(client)
    cancelled = client.delete(f"/api/v1/appointments/{a['id']}", headers=auth(a["manage_token"]))
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert cancelled.json["cancelled_at"] == MONDAY_EARLY.isoformat()
    assert "2026-03-02T08:30:00+01:00" in slot_starts(client)
    again = client.delete(f"/api/v1/appointments/{a['id']}", headers=auth(a["manage_token"]))
    assert again.status_code == 200 and again.json["status"] == "cancelled"
    moved = client.patch(
        f"/api/v1/appointments/{a['id']}",
        headers=auth(a["manage_token"]),
        json={"start": "2026-03-03T08:30:00+01:00"},
    )
    assert moved.status_code == 409 and moved.json["error"]["code"] == "appointment_cancelled"


def test_past_appointments_cannot_be_changed(app, client):
    a = book(client, "2026-03-02T08:00:00+01:00").json
    app.extensions["clock"] = lambda: berlin(2026, 3, 2, 8, 5)
    response = client.delete(f"/api/v1/appointments/{a['id']}", headers=auth(a["manage_token"]))
    assert response.status_code == 409
    assert response.json["error"]["code"] == "appointment_past"


@pytest.mark.parametrize(
    ("start", "code"),
    [
        ("2026-03-02T07:05:00+01:00", "start_too_soon"),  # before opening and within lead
        ("2026-03-02T12:00:00+01:00", "start_not_offered"),  # closing time
        ("2026-03-02T08:05:00+01:00", "start_not_offered"),  # off the slot grid
        ("2026-03-07T09:00:00+01:00", "start_not_offered"),  # Saturday
        ("2026-04-06T09:00:00+02:00", "start_not_offered"),  # Easter Monday
        ("2026-06-01T09:00:00+02:00", "start_too_far"),  # beyond 8 weeks
    ],
)
def test_times_outside_the_rules_are_refused_with_a_reason(client, store, start, code):
    response = book(client, start)
    assert response.status_code == 422
    assert response.json["error"]["code"] == code
    assert response.json["error"]["field"] == "start"
    assert count(store) == 0


def test_slot_listing_honours_holidays_and_afternoons(app, client):
    app.extensions["clock"] = lambda: berlin(2027, 1, 4, 7, 0)
    assert slot_starts(client, "2027-01-06") == []  # Epiphany, a Wednesday
    thursday = slot_starts(client, "2027-01-07")
    assert thursday[-1] == "2027-01-07T15:45:00+01:00"
    wednesday = slot_starts(client, "2027-01-13")
    assert wednesday[-1] == "2027-01-13T17:15:00+01:00"


def test_slot_listing_across_the_dst_change_keeps_wall_times(app, client):
    app.extensions["clock"] = lambda: berlin(2026, 3, 23, 7, 0)
    response = client.get(f"/api/v1/services/{SERVICE}/slots?from=2026-03-27&to=2026-03-30")
    starts = [s["start"] for s in response.json["slots"]]
    assert "2026-03-27T08:00:00+01:00" in starts
    assert "2026-03-30T08:00:00+02:00" in starts
    assert not any("T07:" in s or "T12:" in s for s in starts)


def test_slot_listing_errors(client):
    bad_date = client.get(f"/api/v1/services/{SERVICE}/slots?from=2026-3-2")
    assert bad_date.status_code == 422 and bad_date.json["error"]["field"] == "from"
    reversed_ = client.get(f"/api/v1/services/{SERVICE}/slots?from=2026-03-05&to=2026-03-02")
    assert reversed_.json["error"]["code"] == "invalid_range"
    unknown = client.get("/api/v1/services/reisepass/slots")
    assert unknown.status_code == 404 and unknown.json["error"]["code"] == "service_not_found"


def test_default_range_starts_today_in_berlin(client):
    response = client.get(f"/api/v1/services/{SERVICE}/slots")
    days = {s["start"][:10] for s in response.json["slots"]}
    assert min(days) == "2026-03-02" and max(days) <= "2026-03-15"
    assert date.fromisoformat(max(days)) >= date(2026, 3, 13)


def test_error_messages_in_german_and_english(client):
    de = client.post("/api/v1/appointments", json={"start": "x"})
    en = client.post("/api/v1/appointments?lang=en", json={"start": "x"})
    assert de.json["error"]["message"] == "Das Feld „service_id“ fehlt."
    assert en.json["error"]["message"] == "The field “service_id” is required."


def test_one_address_holds_at_most_two_upcoming_appointments(client):
    first = book(client, "2026-03-02T08:00:00+01:00").json
    book(client, "2026-03-02T09:00:00+01:00", email="Erika@Example.org")  # same address
    third = book(client, "2026-03-02T10:00:00+01:00")
    assert third.status_code == 409
    assert third.json["error"] == {
        "code": "too_many_appointments",
        "field": "email",
        "message": third.json["error"]["message"],
    }
    client.delete(f"/api/v1/appointments/{first['id']}", headers=auth(first["manage_token"]))
    assert book(client, "2026-03-02T10:00:00+01:00").status_code == 201
    assert book(client, "2026-03-02T10:00:00+01:00", email="other@example.org").status_code == 201


def test_outbox_page_is_off_unless_configured(client):
    assert client.get("/outbox").status_code == 404


def test_booking_page_says_when_an_address_holds_too_many(client):
    for start in ("2026-03-02T08:00:00+01:00", "2026-03-02T09:00:00+01:00"):
        assert book(client, start).status_code == 201
    start = "2026-03-02T10:00:00+01:00"
    page = client.post(
        "/book/meldebescheinigung/details",
        data={
            "name": "Erika",
            "email": "ERIKA@example.org",
            "consent": "yes",
            "start": start,
            "csrf_token": form_token(client, "/book/meldebescheinigung/details", start=start),
        },
    )
    assert page.status_code == 409
    assert "Für diese E-Mail-Adresse sind bereits so viele Termine gebucht" in page.data.decode()
    assert 'id="email-error"' in page.data.decode()

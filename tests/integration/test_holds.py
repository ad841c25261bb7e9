"""Holds: with hold_minutes set, a booking keeps its slot only until confirmed from the e-mail."""

import re
from datetime import timedelta

import pytest

from hub.clock import fixed_clock
from hub.jobs import runner
from hub.notify.outbox import deliver_due
from tests.support.environment import MONDAY_EARLY
from tests.support.forms import form_token, page_token

SLOT = "2026-03-02T09:00:00+01:00"


@pytest.fixture
def held_app(mailing_app):
    return mailing_app(hold_minutes=10, max_open_per_email=0)


def at(app, minutes):
    app.extensions["clock"] = fixed_clock(MONDAY_EARLY + timedelta(minutes=minutes))


def book(client, email="erika@example.org", start=SLOT):
    return client.post(
        "/api/v1/appointments",
        json={"service_id": "meldebescheinigung", "start": start, "name": "Erika", "email": email},
    )


def offered(client, start=SLOT):
    slots = client.get("/api/v1/services/meldebescheinigung/slots?from=2026-03-02&to=2026-03-02")
    return start in [s["start"] for s in slots.json["slots"]]


def test_a_hold_keeps_the_slot_and_reveals_no_secret(held_app):
    client = held_app.test_client()
    first = book(client)
    assert first.status_code == 201
    assert first.json["status"] == "held"
    assert first.json["hold_until"] == "2026-03-02T07:10:00+01:00"
    assert "manage_token" not in first.json and "manage_url" not in first.json
    assert book(client, "b@example.org").status_code == 201  # second counter
    assert not offered(client)
    assert book(client, "c@example.org").status_code == 409


def test_an_unconfirmed_hold_is_released_after_its_time(held_app, store):
    client = held_app.test_client()
    book(client)
    book(client, "b@example.org")
    at(held_app, 9)
    assert not offered(client)
    at(held_app, 10)
    assert offered(client)  # expired holds no longer count as busy
    assert book(client, "c@example.org").status_code == 201  # and their units are taken back
    runner(held_app).run_once("holds")  # the holds job marks the rest released
    with store.transaction() as session:
        from sqlalchemy import select

        from hub.store.models import AppointmentRow

        statuses = sorted(r.status for r in session.scalars(select(AppointmentRow)))
    assert statuses == ["held", "released", "released"]


def test_confirming_from_the_mail_books_and_sends_the_join_link(held_app, mailbox):
    client = held_app.test_client()
    held = book(client).json
    runner(held_app).run_once("mail")
    [hold_mail] = mailbox.wait_for(1)
    assert hold_mail["Subject"].startswith("Bitte bestätigen")
    text = hold_mail.get_body(("plain",)).get_content()
    assert "/join/" not in text
    token = re.search(r"/manage/(\S+)", text).group(1)
    at(held_app, 5)
    confirmed = client.post(
        f"/api/v1/appointments/{held['id']}/confirm", headers={"Authorization": f"Bearer {token}"}
    )
    assert confirmed.status_code == 200 and confirmed.json["status"] == "booked"
    assert confirmed.json["hold_until"] is None
    runner(held_app).run_once("mail")
    confirmation = mailbox.wait_for(2)[1]
    assert confirmation["Subject"].startswith("Ihr Videotermin am")
    assert confirmed.json["join_url"] in confirmation.get_body(("plain",)).get_content()
    at(held_app, 30)
    assert not offered(client) or book(client, "b@example.org").status_code == 201


def test_confirming_too_late_is_refused(held_app, mailbox):
    client = held_app.test_client()
    held = book(client).json
    runner(held_app).run_once("mail")
    token = re.search(
        r"/manage/(\S+)", mailbox.wait_for(1)[0].get_body(("plain",)).get_content()
    ).group(1)
    at(held_app, 11)
    late = client.post(
        f"/api/v1/appointments/{held['id']}/confirm", headers={"Authorization": f"Bearer {token}"}
    )
    assert late.status_code == 409 and late.json["error"]["code"] == "hold_expired"


def test_the_booking_page_sends_the_citizen_to_the_mail(held_app, mailbox):
    client = held_app.test_client()
    response = client.post(
        "/book/meldebescheinigung/details",
        data={
            "name": "Erika",
            "email": "erika@example.org",
            "consent": "yes",
            "start": SLOT,
            "csrf_token": form_token(client, "/book/meldebescheinigung/details", start=SLOT),
        },
    )
    assert response.status_code == 303
    assert "/manage/" not in response.headers["Location"]
    page = client.get(response.headers["Location"]).data.decode()
    assert "07:10" in page
    deliver_due(
        held_app.extensions["store"],
        held_app.extensions["mails"],
        held_app.extensions["mail_transport"],
        MONDAY_EARLY,
    )
    token = re.search(
        r"/manage/(\S+)", mailbox.wait_for(1)[0].get_body(("plain",)).get_content()
    ).group(1)
    manage = client.get(f"/manage/{token}").data.decode()
    assert "Noch nicht bestätigt" in manage
    confirm = client.post(f"/manage/{token}/confirm", data={"csrf_token": page_token(manage)})
    assert confirm.status_code == 303
    assert "Ihr Termin ist gebucht" in client.get(f"/manage/{token}?booked=1").data.decode()

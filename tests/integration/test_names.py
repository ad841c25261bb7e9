"""Names in bookings (issue 12, point 8): the API and the booking page refuse what is no name,
with a reason in German and English, and keep names in one spelling."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.store.models import AppointmentRow
from tests.support.forms import form_token

START = "2026-03-02T09:00:00+01:00"
PHISHING = [
    "Erika. Ihr Konto ist gesperrt: https://evil.example/login",
    "Bitte zahlen Sie sofort auf www.evil.example",
    "Erika\u202eknimmuM",  # reversed the service text on the kiosk
    "\u200b",  # an invisible name
    "Erika 0800 123456",
]


def book(client, name, lang="de"):
    body = {
        "service_id": "meldebescheinigung",
        "start": START,
        "name": name,
        "email": "erika@example.org",
    }
    return client.post(f"/api/v1/appointments?lang={lang}", json=body)


@pytest.mark.parametrize("name", PHISHING)
def test_the_api_refuses_what_is_no_name(client, name):
    answer = book(client, name)
    assert answer.status_code == 422
    assert answer.json["error"]["code"] == "invalid_name"
    assert answer.json["error"]["field"] == "name"
    assert "Buchstaben" in answer.json["error"]["message"]
    assert "letters" in book(client, name, "en").json["error"]["message"]


def test_names_are_kept_in_one_spelling(client, store):
    assert book(client, "  Zoe\u0308   O’Neill-Ça ").status_code == 201
    with store.transaction() as session:
        assert session.scalar(select(AppointmentRow.name)) == "Zoë O’Neill-Ça"


def test_the_booking_page_says_why_a_name_is_refused(client):
    path = "/book/meldebescheinigung/details"
    page = client.post(
        path,
        data={
            "name": PHISHING[0],
            "email": "erika@example.org",
            "consent": "yes",
            "start": START,
            "csrf_token": form_token(client, path, start=START),
        },
    )
    assert page.status_code == 422
    text = page.data.decode()
    assert 'id="name-error"' in text
    assert "Buchstaben, Leerzeichen, Bindestriche, Apostrophe und Punkte" in text

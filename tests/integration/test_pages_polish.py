"""What pages and mails say: the join window as configured, an ended link known at once, the
outbox in Berlin time, an icon for the browser tab (issue 13, point 12)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from hub import create_app
from hub.calls.lifecycle import Event, Outcome
from hub.clock import fixed_clock
from hub.notify.outbox import deliver_due
from hub.operations import calls
from tests.support.environment import MONDAY_EARLY
from tests.support.hub import make_settings

START = "2026-03-03T09:00:00+01:00"  # Tuesday, 26 hours after MONDAY_EARLY


def book(client) -> dict:
    response = client.post(
        "/api/v1/appointments?lang=de",
        json={
            "service_id": "fuehrungszeugnis",
            "start": START,
            "name": "Erika Mustermann",
            "email": "erika@example.org",
        },
    )
    assert response.status_code == 201, response.json
    return response.json


def test_mail_and_manage_page_name_the_configured_join_window(mailing_app, mailbox):
    app = mailing_app(join_before_minutes=60)
    client = app.test_client()
    booked = book(client)
    ext = app.extensions
    assert deliver_due(ext["store"], ext["mails"], ext["mail_transport"], ext["clock"]()).sent
    [message] = mailbox.wait_for(1)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "ab 60 Minuten vor Beginn" in text and "15 Minuten" not in text
    assert "Ab 60 Minuten vor Beginn" in html and "15 Minuten" not in html
    page = client.get(booked["manage_url"].removeprefix("http://hub.test")).get_data(as_text=True)
    assert "Ab 60 Minuten vor Beginn" in page and "15 Minuten" not in page


def test_a_join_link_says_at_once_that_its_call_has_ended(app, client, store):
    booked = book(client)
    join = booked["join_url"].removeprefix("http://hub.test")
    page = client.get(join).get_data(as_text=True)
    assert 'id="join"' in page  # still ahead: the call page with its join button

    appointment = uuid.UUID(booked["id"])
    calls.advance(store, appointment, Event.END, MONDAY_EARLY, Outcome.CANCELLED)
    response = client.get(join)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Dieses Gespräch hat bereits stattgefunden." in page
    assert 'id="join"' not in page and "call.js" not in page  # no camera asked for


def test_a_cancelled_or_unknown_link_says_so_at_once(client):
    booked = book(client)
    headers = {"Authorization": f"Bearer {booked['manage_token']}"}
    assert client.delete(f"/api/v1/appointments/{booked['id']}", headers=headers).status_code == 200
    page = client.get(booked["join_url"].removeprefix("http://hub.test")).get_data(as_text=True)
    assert "Dieser Termin wurde abgesagt." in page and 'id="join"' not in page
    unknown = client.get("/join/" + "A" * 43)
    assert unknown.status_code == 404
    assert "Dieser Link ist ungültig." in unknown.get_data(as_text=True)


def test_a_link_after_its_window_says_the_time_is_over(store, tmp_path, client):
    booked = book(client)
    late = create_app(
        make_settings(tmp_path, database_url=store.url),
        clock=fixed_clock(MONDAY_EARLY + timedelta(days=2)),
        store=store,
        TESTING=True,
    )
    page = late.test_client().get(booked["join_url"].removeprefix("http://hub.test"))
    text = page.get_data(as_text=True)
    assert "Die Zeit für diesen Termin ist vorbei." in text and 'id="join"' not in text


@pytest.fixture
def outbox_app(store, tmp_path):
    settings = make_settings(tmp_path, database_url=store.url, outbox_page=True)
    return create_app(settings, clock=fixed_clock(MONDAY_EARLY), store=store, TESTING=True)


def test_the_outbox_shows_when_a_mail_went_in_berlin_time(outbox_app):
    client = outbox_app.test_client()
    book(client)
    ext = outbox_app.extensions
    deliver_due(ext["store"], ext["mails"], ext["mail_transport"], ext["clock"]())
    page = client.get("/outbox", environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_data(as_text=True)
    # MONDAY_EARLY is 07:00 in Berlin on 2 March 2026 (the header says 06:00 +0000).
    assert "02.03.2026, 07:00" in page, page
    assert "+0000" not in page and "GMT" not in page


def test_the_hub_serves_an_icon(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.mimetype in ("image/svg+xml", "image/x-icon", "image/vnd.microsoft.icon")
    page = client.get("/").get_data(as_text=True)
    assert 'rel="icon"' in page

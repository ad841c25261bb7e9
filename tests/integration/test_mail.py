"""Mails through the outbox to a real SMTP server: content, calendar file, links, retries, once."""

from datetime import timedelta

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import select

from hub import create_app
from hub.clock import fixed_clock
from hub.notify.outbox import MAX_ATTEMPTS, deliver_due
from hub.store.models import MailRow
from tests.support.environment import MONDAY_EARLY, berlin, free_port
from tests.support.hub import make_settings

START = "2026-03-03T09:00:00+01:00"  # Tuesday, 26 hours after MONDAY_EARLY


@pytest.fixture
def mail_app(mailing_app):
    return mailing_app()


def deliver(app, at=None):
    ext = app.extensions
    return deliver_due(ext["store"], ext["mails"], ext["mail_transport"], at or ext["clock"]())


def book(client, lang="de", start=START):
    response = client.post(
        f"/api/v1/appointments?lang={lang}",
        json={
            "service_id": "fuehrungszeugnis",
            "start": start,
            "name": "Erika Mustermann",
            "email": "erika@example.org",
        },
    )
    assert response.status_code == 201, response.json
    return response.json


def mails(store):
    with store.transaction() as session:
        return [
            (m.kind, m.status, m.due_at)
            for m in session.scalars(select(MailRow).order_by(MailRow.due_at, MailRow.id))
        ]


def calendar_event(message):
    part = next(p for p in message.iter_attachments() if p.get_content_type() == "text/calendar")
    return next(iter(Calendar.from_ical(part.get_content()).walk("VEVENT")))


def test_confirmation_carries_links_checklist_and_a_calendar_file(mail_app, store, mailbox):
    client = mail_app.test_client()
    booked = book(client)
    assert [k for k, _, _ in mails(store)] == ["confirmation", "reminder", "reminder"]
    assert deliver(mail_app).sent
    [message] = mailbox.wait_for(1)
    assert message["To"] == "erika@example.org"
    assert message["Subject"] == "Ihr Videotermin am Dienstag, 3. März 2026 um 09:00"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert booked["join_url"] in text and booked["manage_url"] in text
    assert booked["join_url"] in html and 'lang="de"' in html
    assert "Personalausweis oder Reisepass" in text and "13,00\xa0€" in text
    event = calendar_event(message)
    assert event.decoded("dtstart") == berlin(2026, 3, 3, 9, 0)
    assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(minutes=10)
    # The manage link in the mail opens the appointment.
    token = text.split("/manage/")[1].split()[0]
    read = client.get(
        f"/api/v1/appointments/{booked['id']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert read.status_code == 200
    # Delivering again sends nothing: the mail went once.
    assert deliver(mail_app).sent == []
    assert len(mailbox.messages) == 1


def test_english_booking_gets_english_mail(mail_app, mailbox):
    book(mail_app.test_client(), lang="en")
    deliver(mail_app)
    [message] = mailbox.wait_for(1)
    assert message["Subject"].startswith("Your video appointment on Tuesday, March 3, 2026")
    assert "Identity card or passport" in message.get_body(("plain",)).get_content()


def test_reminders_go_out_when_due_and_follow_a_reschedule(mail_app, store, mailbox):
    client = mail_app.test_client()
    booked = book(client)
    deliver(mail_app)
    auth = {"Authorization": f"Bearer {booked['manage_token']}"}
    moved = client.patch(
        f"/api/v1/appointments/{booked['id']}",
        headers=auth,
        json={"start": "2026-03-04T14:00:00+01:00"},
    )
    assert moved.status_code == 200
    states = mails(store)
    assert [(k, s) for k, s, _ in states if s == "cancelled"] == [("reminder", "cancelled")] * 2
    pending_reminders = [d for k, s, d in states if k == "reminder" and s == "pending"]
    assert pending_reminders == [berlin(2026, 3, 3, 14, 0), berlin(2026, 3, 4, 13, 0)]
    deliver(mail_app)
    assert mailbox.wait_for(2)[1]["Subject"].startswith("Ihr Videotermin wurde verlegt")
    assert calendar_event(mailbox.messages[1]).decoded("sequence") == 1
    # Nothing more until the first reminder is due, then exactly that one.
    assert deliver(mail_app, berlin(2026, 3, 3, 13, 59)).sent == []
    assert len(deliver(mail_app, berlin(2026, 3, 3, 14, 0)).sent) == 1
    assert mailbox.wait_for(3)[2]["Subject"].startswith("Erinnerung")


def test_cancel_sends_a_cancellation_and_withdraws_reminders(mail_app, store, mailbox):
    client = mail_app.test_client()
    booked = book(client)
    client.delete(
        f"/api/v1/appointments/{booked['id']}",
        headers={"Authorization": f"Bearer {booked['manage_token']}"},
    )
    report = deliver(mail_app)
    assert len(report.sent) == 2  # confirmation, cancellation
    messages = mailbox.wait_for(2)
    assert messages[1]["Subject"].startswith("Abgesagt")
    assert "/join/" not in messages[1].get_body(("plain",)).get_content()
    assert calendar_event(messages[1])["status"] == "CANCELLED"
    assert deliver(mail_app, berlin(2026, 3, 3, 9, 0)).sent == []


def test_a_mail_server_outage_delays_but_loses_nothing(mail_app, store, mailbox, tmp_path):
    book(mail_app.test_client())
    mailbox.stop()
    report = deliver(mail_app)
    assert report.sent == [] and len(report.retrying) == 1
    with store.transaction() as session:
        mail = session.scalars(select(MailRow).where(MailRow.kind == "confirmation")).one()
        assert mail.status == "pending" and "Error" in mail.last_error
        retry_at = mail.due_at
    assert retry_at > MONDAY_EARLY
    assert deliver(mail_app).sent == []  # not yet due again
    mailbox.start()
    assert len(deliver(mail_app, retry_at).sent) == 1
    assert len(mailbox.wait_for(1)) == 1


def test_a_mail_that_keeps_failing_ends_up_visible_as_failed(store, tmp_path):
    dead_port = free_port()
    app = create_app(
        make_settings(
            tmp_path,
            database_url=store.url,
            smtp_host="127.0.0.1",
            smtp_port=dead_port,
            smtp_security="none",
        ),
        clock=fixed_clock(MONDAY_EARLY),
        store=store,
    )
    book(app.test_client())
    at = MONDAY_EARLY
    for _ in range(MAX_ATTEMPTS):
        deliver(app, at)
        at += timedelta(hours=2)
    with store.transaction() as session:
        mail = session.scalars(select(MailRow).where(MailRow.kind == "confirmation")).one()
    assert mail.status == "failed" and mail.attempts == MAX_ATTEMPTS
    assert "ConnectionRefused" in mail.last_error


def test_served_hub_sends_each_mail_once_across_a_restart(store, serve_hub, mailbox):
    env = {
        "clock_start": MONDAY_EARLY.isoformat(),
        "rate_limit_enabled": "false",
        "smtp_host": "127.0.0.1",
        "smtp_port": str(mailbox.port),
        "smtp_security": "none",
        "secret_key": "restart-key",
        "mail_poll_seconds": "0.2",
    }
    first = serve_hub(store.url, **env)
    response = httpx.post(
        f"{first.url}/api/v1/appointments",
        json={
            "service_id": "meldebescheinigung",
            "start": START,
            "name": "A",
            "email": "a@example.org",
        },
    )
    assert response.status_code == 201
    assert len(mailbox.wait_for(1)) == 1  # the hub's own worker delivered it
    first.stop()
    second = serve_hub(store.url, **env)
    assert httpx.get(f"{second.url}/readyz").status_code == 200
    # An absence has no event to wait for: the new process delivers due mail as it starts and
    # then every 0.2 s, so 1.5 s are several rounds. Waiting for a second message (not sleeping)
    # fails as soon as one arrives; the hub reports no round it could be told apart by.
    assert len(mailbox.wait_for(2, timeout=1.5)) == 1
    assert [s for k, s, _ in mails(store) if k == "confirmation"] == ["sent"]

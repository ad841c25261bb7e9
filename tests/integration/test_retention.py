"""Retention: personal data of past appointments is forgotten, the rest stays."""

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from hub.jobs import runner
from hub.store.models import AppointmentRow, CallRow, MailRow
from tests.support.environment import MONDAY_EARLY


def book_old_and_new(client) -> dict[str, uuid.UUID]:
    """Book an appointment long past by the test's clock and one still ahead; their ids."""
    booked = {}
    for email, start in (
        ("old@example.org", "2026-03-02T09:00:00+01:00"),
        ("new@example.org", "2026-04-20T09:00:00+02:00"),
    ):
        response = client.post(
            "/api/v1/appointments",
            json={
                "service_id": "meldebescheinigung",
                "start": start,
                "name": "Erika Mustermann",
                "email": email,
            },
        )
        assert response.status_code == 201
        booked[email] = uuid.UUID(response.json["id"])
    return booked


def test_past_appointments_lose_name_email_and_mails_after_the_retention_period(mailing_app, store):
    app = mailing_app(retention_days=30)
    client = app.test_client()
    book_old_and_new(client)
    app.extensions["clock"] = lambda: MONDAY_EARLY + timedelta(days=31)
    runner(app).run_once("retention")
    with store.transaction() as session:
        rows = {r.start_at.month: r for r in session.scalars(select(AppointmentRow))}
        mails_left = session.scalar(select(func.count()).select_from(MailRow))
    assert rows[3].name == "—" and rows[3].email == ""
    assert rows[3].service_id == "meldebescheinigung" and rows[3].status == "booked"
    assert rows[4].email == "new@example.org" and rows[4].name == "Erika Mustermann"
    assert mails_left == 3  # the recent appointment's confirmation and two reminders


def test_retention_forgets_notes_device_checks_and_outbox_files_too(app, store):
    """Everything personal goes (issue 12, point 7): the clerk's notes (which may hold a birth
    date), the device check, the citizen's connection id, the mails in the outbox folder; also
    for appointments whose name an earlier version already blanked."""
    client = app.test_client()
    booked = book_old_and_new(client)
    runner(app).run_once("mail")  # the confirmations go to the outbox folder
    outbox = app.extensions["settings"].effective_outbox_dir
    assert len(list(outbox.glob("*.eml"))) == 2
    with store.transaction() as session:
        for appointment_id in booked.values():
            appt = session.get(AppointmentRow, appointment_id)
            appt.device_check, appt.device_checked_at = "needs_help", MONDAY_EARLY
            session.add(
                CallRow(
                    appointment_id=appointment_id,
                    state="ended",
                    outcome="done",
                    counter_id=appt.counter_id,
                    citizen_sid="sid-of-the-citizen",
                    citizen_seen_at=MONDAY_EARLY,
                    updated_at=MONDAY_EARLY,
                    notes="geb. 01.02.1980, Reisepass abgelaufen",
                )
            )
    app.extensions["clock"] = lambda: MONDAY_EARLY + timedelta(days=31)
    runner(app).run_once("retention")
    with store.transaction() as session:
        old = session.get(AppointmentRow, booked["old@example.org"])
        old_call = session.get(CallRow, booked["old@example.org"])
        new = session.get(AppointmentRow, booked["new@example.org"])
        new_call = session.get(CallRow, booked["new@example.org"])
        assert (old.name, old.email, old.device_check, old.device_checked_at) == (
            "—",
            "",
            None,
            None,
        )
        assert (old_call.notes, old_call.citizen_sid) == (None, None)
        assert old_call.outcome == "done" and old_call.counter_id == old.counter_id  # statistics
        assert new.device_check == "needs_help" and new_call.notes.startswith("geb.")
        # An appointment an earlier version forgot only in part:
        new.start_at, new.end_at = MONDAY_EARLY, MONDAY_EARLY + timedelta(minutes=10)
        new.name, new.email = "—", ""
    left = [p.read_bytes() for p in outbox.glob("*.eml")]
    assert len(left) == 1 and b"new@example.org" in left[0]
    runner(app).run_once("retention")
    with store.transaction() as session:
        assert session.get(CallRow, booked["new@example.org"]).notes is None
        assert session.get(AppointmentRow, booked["new@example.org"]).device_check is None

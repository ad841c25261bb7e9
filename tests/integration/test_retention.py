"""Retention: personal data of past appointments is forgotten, the rest stays."""

from datetime import timedelta

from sqlalchemy import func, select

from hub.notify.worker import forget_once
from hub.store.models import AppointmentRow, MailRow
from tests.conftest import MONDAY_EARLY


def test_past_appointments_lose_name_email_and_mails_after_the_retention_period(mailing_app, store):
    app = mailing_app(retention_days=30)
    client = app.test_client()
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
    app.extensions["clock"] = lambda: MONDAY_EARLY + timedelta(days=31)
    forget_once(app)
    with store.transaction() as session:
        rows = {r.start_at.month: r for r in session.scalars(select(AppointmentRow))}
        mails_left = session.scalar(select(func.count()).select_from(MailRow))
    assert rows[3].name == "—" and rows[3].email == ""
    assert rows[3].service_id == "meldebescheinigung" and rows[3].status == "booked"
    assert rows[4].email == "new@example.org" and rows[4].name == "Erika Mustermann"
    assert mails_left == 3  # the recent appointment's confirmation and two reminders

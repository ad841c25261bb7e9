"""Forgetting citizens' personal data once appointments lie far enough in the past."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from hub.store import Store
from hub.store.models import AppointmentRow, MailRow

APPOINTMENTS = AppointmentRow.__table__
MAILS = MailRow.__table__
FORGOTTEN_NAME = "—"


def forget_past(store: Store, now: datetime, keep: timedelta) -> int:
    """Blank name and e-mail of appointments that ended more than `keep` ago, and delete their
    mails (with the sealed link secrets). Times, service and counter stay for statistics."""
    cutoff = now - keep
    with store.engine.begin() as conn:
        ids = list(
            conn.scalars(
                select(APPOINTMENTS.c.id).where(
                    APPOINTMENTS.c.start_at < cutoff,
                    APPOINTMENTS.c.end_at < cutoff,
                    APPOINTMENTS.c.name != FORGOTTEN_NAME,
                )
            )
        )
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            conn.execute(delete(MAILS).where(MAILS.c.appointment_id.in_(chunk)))
            conn.execute(
                update(APPOINTMENTS)
                .where(APPOINTMENTS.c.id.in_(chunk))
                .values(name=FORGOTTEN_NAME, email="")
            )
    return len(ids)

"""Forgetting citizens' personal data once appointments lie far enough in the past."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, or_, select, update

from hub.store import Store
from hub.store.models import AppointmentRow, CallRow, MailRow

APPOINTMENTS = AppointmentRow.__table__
CALLS = CallRow.__table__
MAILS = MailRow.__table__
FORGOTTEN_NAME = "—"

# Everything personal an appointment leaves behind, and its forgotten value. Times, service,
# counter, status and the call's outcome stay for statistics.
APPOINTMENT_PERSONAL = {
    "name": FORGOTTEN_NAME,
    "email": "",
    "device_check": None,
    "device_checked_at": None,
    "phone": None,  # given when the office booked for a citizen who phoned
    "cancel_reason": None,  # the office's words to the citizen, which may name them
}
CALL_PERSONAL = {"notes": None, "citizen_sid": None}  # the clerk's notes may hold a birth date


def _still_personal() -> ColumnElement[bool]:
    """Rows with anything personal left (also those an earlier version forgot only in part)."""
    calls = select(CALLS.c.appointment_id).where(
        or_(CALLS.c.notes.is_not(None), CALLS.c.citizen_sid.is_not(None))
    )
    return or_(
        APPOINTMENTS.c.name != FORGOTTEN_NAME,
        APPOINTMENTS.c.email != "",
        APPOINTMENTS.c.device_check.is_not(None),
        APPOINTMENTS.c.device_checked_at.is_not(None),
        APPOINTMENTS.c.phone.is_not(None),
        APPOINTMENTS.c.cancel_reason.is_not(None),
        APPOINTMENTS.c.id.in_(calls),
    )


def forget_past(
    store: Store,
    now: datetime,
    keep: timedelta,
    forget_files: Callable[[Sequence[uuid.UUID]], object] | None = None,
) -> int:
    """Forget the personal data of appointments that ended more than `keep` ago: name, e-mail,
    phone, the office's cancellation reason, device check, the call's notes and connection id;
    delete their mails (with the sealed link secrets); then `forget_files` removes what lies
    outside the database (the outbox folder)."""
    cutoff = now - keep
    with store.engine.begin() as conn:
        ids = list(
            conn.scalars(
                select(APPOINTMENTS.c.id).where(
                    APPOINTMENTS.c.start_at < cutoff,
                    APPOINTMENTS.c.end_at < cutoff,
                    _still_personal(),
                )
            )
        )
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            conn.execute(delete(MAILS).where(MAILS.c.appointment_id.in_(chunk)))
            conn.execute(
                update(APPOINTMENTS)
                .where(APPOINTMENTS.c.id.in_(chunk))
                .values(**APPOINTMENT_PERSONAL)
            )
            conn.execute(
                update(CALLS).where(CALLS.c.appointment_id.in_(chunk)).values(**CALL_PERSONAL)
            )
    if ids and forget_files is not None:
        forget_files(ids)
    return len(ids)

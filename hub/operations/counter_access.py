"""Which appointments a counter appliance may act on outside the realtime channel (its
documents over HTTP): those of its counter's day, and the call it holds."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select

from hub.booking.status import ON_THE_DAY
from hub.booking.timezone import local_date, start_of_local_day
from hub.calls.lifecycle import State
from hub.operations.accounts import Device
from hub.store import Store
from hub.store.engine import retrying
from hub.store.models import AppointmentRow, CallRow


def may_handle(store: Store, device: Device, appointment_id: uuid.UUID, now: datetime) -> bool:
    """Whether `device` may read and add to this appointment's documents now: it is on its
    counter's day today (booked there, or its call taken over there), or its call is held by
    this very device and not over."""
    today = local_date(now)
    day_start = start_of_local_day(today)
    day_end = start_of_local_day(today + timedelta(days=1))

    def read() -> bool:
        with store.transaction() as session:
            found = session.execute(
                select(
                    AppointmentRow.counter_id,
                    AppointmentRow.status,
                    AppointmentRow.start_at,
                    CallRow.counter_id,
                    CallRow.device_id,
                    CallRow.state,
                )
                .outerjoin(CallRow, CallRow.appointment_id == AppointmentRow.id)
                .where(AppointmentRow.id == appointment_id)
            ).first()
        if found is None:
            return False
        booked_at, status, start, call_counter, call_device, call_state = found
        if call_device == device.id and call_state not in (None, State.ENDED.value):
            return True
        on_today = status in ON_THE_DAY and day_start <= start < day_end
        return on_today and device.counter_id in (booked_at, call_counter)

    return retrying(read)

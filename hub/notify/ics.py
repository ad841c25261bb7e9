"""Calendar files (.ics) for appointments, in Europe/Berlin with a VTIMEZONE."""

from __future__ import annotations

import uuid
from datetime import datetime

from icalendar import Calendar, Event

from hub.booking.timezone import BERLIN


def appointment_calendar(
    appointment_id: uuid.UUID,
    summary: str,
    description: str,
    start: datetime,
    end: datetime,
    stamp: datetime,
    sequence: int,
    cancelled: bool = False,
    url: str | None = None,
) -> bytes:
    """An iCalendar file; a later version (higher `sequence`) replaces an earlier one."""
    calendar = Calendar()
    calendar.add("prodid", "-//Buergeramt Virtuell//DE")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    event.add("uid", f"{appointment_id}@buergeramt-virtuell")
    event.add("sequence", sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", start.astimezone(BERLIN))
    event.add("dtend", end.astimezone(BERLIN))
    event.add("summary", summary)
    event.add("description", description)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if url:
        event.add("url", url)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()

"""What the counters and closures pages share: service names in the page's language, the
office's today, and the appointments they list (time, service, counter: no citizen's data)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _

from hub.booking.timezone import in_calendar, local_date
from hub.context import now, store
from hub.i18n import current_language
from hub.operations.catalogue import list_services
from hub.operations.counters import list_counters

MAX_TEXT = 200  # reasons and names: what the columns hold


@dataclass(frozen=True)
class Listed:
    """An appointment as these pages show it."""

    id: uuid.UUID
    start: datetime
    end: datetime
    service: str
    counter: str


def service_names() -> dict[str, str]:
    """Every service's name in the page's language (also those no longer offered)."""
    offered = store().catalogue().services
    lang = current_language()
    return {
        s.id: offered[s.id].name(lang) if s.id in offered else s.name_de
        for s in list_services(store())
    }


def counter_names() -> dict[int, str]:
    """Every counter's name by id."""
    return {c.id: c.name for c in list_counters(store())}


def listed(
    rows: list[tuple[uuid.UUID, datetime, datetime, str, int]],
) -> list[Listed]:
    """(id, start, end, service id, counter id) as the pages list them."""
    services, counters = service_names(), counter_names()
    return [
        Listed(i, start, end, services.get(s, s), counters.get(c, str(c)))
        for i, start, end, s, c in rows
    ]


def today() -> date:
    """The office's date now (Berlin), by the hub's clock."""
    return local_date(now())


def parse_day(raw: str) -> date | None:
    """A date as the date fields send it (YYYY-MM-DD), within the hub's calendar; else None."""
    raw = raw.strip()
    try:
        day = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        return None
    return day if day is not None and in_calendar(day) else None


def day_error() -> str:
    """The line for a date that is not one."""
    return _("Enter a date, e.g. 2026-12-24.")

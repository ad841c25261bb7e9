"""A clerk's own day (area "own_day", clerks only): the appointments at the counters where the
clerk works, for today or one of the next days, and the calls the clerk finished that day
(hub.operations.clerk_day). The only page of the admin area a clerk may open."""

from __future__ import annotations

from datetime import date, timedelta

from flask import request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from hub.booking.timezone import local_date
from hub.context import now, store
from hub.operations.accounts import Staff
from hub.operations.clerk_day import DAYS_AHEAD, WORKED_WITHIN, clerk_day
from hub.web.admin.appointments import state_names
from hub.web.admin.blueprint import bp
from hub.web.admin.session import require
from hub.web.admin.views import render


def _wanted(raw: str, first: date, last: date) -> date | None:
    """The day asked for (?day=YYYY-MM-DD) if it lies within first..last, else None."""
    try:
        day = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        return None
    return day if day is not None and first <= day <= last else None


@bp.get("/my-day")
@require("own_day")
def my_day(staff: Staff) -> ResponseReturnValue:
    """ "Mein Tag": today's appointments at the clerk's counters, or another day's (?day=)."""
    today = local_date(now())
    last = today + timedelta(days=DAYS_AHEAD)
    raw = request.args.get("day", "")[:20]
    day = _wanted(raw, today, last) if raw else today
    error = ""
    if day is None:
        error = _(
            "Choose a day from %(first)s to %(last)s.",
            first=today.isoformat(),
            last=last.isoformat(),
        )
    return render(
        "admin/my_day.html",
        staff,
        422 if error else 200,
        shown=clerk_day(store(), staff.id, day, now()) if day is not None else None,
        today=today,
        first_day=today.isoformat(),
        last_day=last.isoformat(),
        wanted=raw if error else (day or today).isoformat(),
        error=error,
        states=state_names(),
        worked_days=WORKED_WITHIN.days,
    )

"""The public holidays page (/admin/holidays, area "office"): whose state's holidays a schedule
keeps (Baden-Württemberg by default, or none) and, per holiday of this year and the next,
whether the office keeps it closed or works its weekly hours.

The rules are in hub.operations.holidays; every change is audited there as `web:<username>`.
A change that would close a day with appointments ahead is refused, naming the days: such a
day is closed with a closure, which tells the citizens."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, get_flashed_messages, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date
from flask_babel import gettext as _

from hub.booking.schedule import STATES
from hub.context import now, store
from hub.i18n import current_language
from hub.operations.accounts import Staff
from hub.operations.catalogue import CatalogueError, list_schedules
from hub.operations.holidays import HolidaysBooked, calendar, set_observed, set_state
from hub.store.seed import STANDARD_SCHEDULE
from hub.web.admin.blueprint import bp
from hub.web.admin.office import parse_day, today
from hub.web.admin.session import actor, require
from hub.web.admin.views import render


def _schedule(raw: str | None) -> str:
    name = raw or STANDARD_SCHEDULE
    if name not in list_schedules(store()):
        abort(404)
    return name


def _booked_error(exc: HolidaysBooked) -> str:
    days = ", ".join(format_date(d, "medium") for d in sorted(exc.days))
    return _(
        "Appointments are booked on %(days)s. Close such a day with a closure, which lists the"
        " appointments and tells the citizens; nothing was changed.",
        days=days,
    )


def _page(staff: Staff, schedule: str, status: int = 200, error: str = "") -> ResponseReturnValue:
    year = today().year
    shown = calendar(store(), schedule, range(year, year + 2), current_language())
    return render(
        "admin/holidays.html",
        staff,
        status,
        calendar=shown,
        schedules=list_schedules(store()),
        states=STATES,
        today=today(),
        error=error,
        done=get_flashed_messages(),
    )


@bp.get("/holidays")
@require("office")
def holidays_page(staff: Staff) -> ResponseReturnValue:
    """The schedule's state and its holidays this year and the next."""
    return _page(staff, _schedule(request.args.get("schedule")))


@bp.post("/holidays/state")
@require("office")
def holidays_state(staff: Staff) -> ResponseReturnValue:
    """Keep another state's holidays, or none."""
    schedule = _schedule(request.form.get("schedule"))
    raw = request.form.get("state", "")
    if raw and raw not in STATES:
        abort(400)
    try:
        set_state(store(), schedule, raw or None, actor=actor(staff), now=now())
    except HolidaysBooked as exc:
        return _page(staff, schedule, 409, _booked_error(exc))
    if raw:
        flash(_("The public holidays of %(state)s apply now.", state=STATES[raw]))
    else:
        flash(_("No public holidays apply now: the weekly hours hold on those days too."))
    return redirect(url_for("admin.holidays_page", schedule=schedule), 303)


@bp.post("/holidays/day")
@require("office")
def holidays_day(staff: Staff) -> ResponseReturnValue:
    """Keep one holiday closed, or work on it."""
    schedule = _schedule(request.form.get("schedule"))
    day: date | None = parse_day(request.form.get("day", ""))
    observed = request.form.get("observed")
    if day is None or observed not in ("0", "1"):
        abort(400)
    try:
        set_observed(store(), schedule, day, observed == "1", actor=actor(staff), now=now())
    except HolidaysBooked as exc:
        return _page(staff, schedule, 409, _booked_error(exc))
    except CatalogueError:
        abort(400)
    shown = format_date(day, "long")
    if observed == "1":
        flash(_("Closed on %(day)s again, a public holiday.", day=shown))
    else:
        flash(_("Open on %(day)s with the weekly hours, though a public holiday.", day=shown))
    return redirect(url_for("admin.holidays_page", schedule=schedule), 303)

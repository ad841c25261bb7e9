"""The counters page (/admin/counters, area "office"): each counter's state, weekly hours and
exceptions; a counter's own page to set its hours per weekday, add or remove a date's exception,
put it in or out of service (listing its appointments ahead and offering to move them, as
`buergeramt counters deactivate --move` does), and a form for a new counter.

The rules are in hub.operations.counters and hub.operations.catalogue (the CLI calls them too);
every change is audited there as `web:<username>`. A refused form changes nothing."""

from __future__ import annotations

import re

from babel.dates import get_day_names
from flask import abort, flash, get_flashed_messages, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext

from hub.booking.schedule import OpeningPeriod, Span, format_span, parse_spans
from hub.context import now, store
from hub.i18n import current_language
from hub.operations.accounts import Staff
from hub.operations.catalogue import CatalogueError, add_counter
from hub.operations.counters import (
    Booking,
    CounterError,
    CounterInfo,
    UpcomingAppointments,
    activate,
    deactivate,
    list_counters,
    remove_exception,
    set_exception,
    set_hours,
    upcoming,
)
from hub.web.admin.blueprint import bp
from hub.web.admin.office import MAX_TEXT, day_error, listed, parse_day, today
from hub.web.admin.session import actor, require
from hub.web.admin.views import render

DASHES = re.compile(r"\s*[-–—]\s*")
SHORT_HOUR = re.compile(r"(?<![\d:])(\d):(\d\d)")


def _day_names() -> list[str]:
    """Monday to Sunday in the page's language."""
    names = get_day_names("wide", locale=current_language())
    return [names[d] for d in range(7)]


def _spans_text(spans: tuple[Span, ...] | list[Span]) -> str:
    return ", ".join(format_span(o, c) for o, c in spans)


def _week(info: CounterInfo) -> list[str]:
    """The counter's weekly hours per weekday, as the fields show them ('' when closed)."""
    return [
        _spans_text(sorted((p.opens, p.closes) for p in info.schedule.periods if p.weekday == d))
        for d in range(7)
    ]


def _state(info: CounterInfo) -> str:
    if not info.active:
        return _("Out of service: takes no bookings")
    if info.appliances:
        return _("In service: takes bookings")
    if info.without_appliance:
        return _("In service: takes bookings without an appliance")
    return _("In service, but no appliance is enrolled: takes no bookings")


def _outside_rows(bookings: list[Booking]) -> list:
    return listed([(b.id, b.start, b.end, b.service_id, b.counter_id) for b in bookings])


# --- the list ------------------------------------------------------------------------------------


def _list_page(staff: Staff, status: int = 200, **values: object) -> ResponseReturnValue:
    counters = list_counters(store())
    return render(
        "admin/counters.html",
        staff,
        status,
        counters=counters,
        week={c.id: _week(c) for c in counters},
        state={c.id: _state(c) for c in counters},
        days=_day_names(),
        today=today(),
        spans_text=_spans_text,
        done=get_flashed_messages(),
        **values,
    )


@bp.get("/counters")
@require("office")
def counters_page(staff: Staff) -> ResponseReturnValue:
    """Every counter: state, weekly hours, exceptions ahead; the form for a new one."""
    return _list_page(staff)


@bp.post("/counters")
@require("office")
def add_counter_form(staff: Staff) -> ResponseReturnValue:
    """A new counter keeping the Standard schedule."""
    name = " ".join(request.form.get("name", "").split())
    if not name or len(name) > 100:
        error = _("Give the counter a name of 1 to 100 characters, e.g. Schalter 3.")
        return _list_page(staff, 422, error=error, new_name=name[:MAX_TEXT])
    try:
        add_counter(store(), name, actor=actor(staff), now=now())
    except CatalogueError:
        error = _("A counter named %(name)s exists already.", name=name)
        return _list_page(staff, 422, error=error, new_name=name)
    flash(
        _(
            "Counter %(name)s added. It takes bookings once an appliance is enrolled for it,"
            " or once you allow it to do without one.",
            name=name,
        )
    )
    return redirect(url_for("admin.counters_page"))


# --- one counter ---------------------------------------------------------------------------------


def _info(counter_id: str) -> CounterInfo:
    if not counter_id.isdigit() or len(counter_id) > 9:
        abort(404)
    found = next((c for c in list_counters(store()) if c.id == int(counter_id)), None)
    if found is None:
        abort(404)
    return found


def _counter_page(
    staff: Staff, info: CounterInfo, status: int = 200, **values: object
) -> ResponseReturnValue:
    info = next(c for c in list_counters(store()) if c.id == info.id)  # as it is now
    fields = values.pop("fields", None) or _week(info)
    return render(
        "admin/counter.html",
        staff,
        status,
        counter=info,
        state=_state(info),
        days=_day_names(),
        fields=fields,
        exceptions=info.exceptions_from(today()),
        today=today(),
        spans_text=_spans_text,
        done=get_flashed_messages(),
        **values,
    )


@bp.get("/counters/<counter_id>")
@require("office")
def counter_page(staff: Staff, counter_id: str) -> ResponseReturnValue:
    """One counter: its hours per weekday, its exceptions, in or out of service."""
    return _counter_page(staff, _info(counter_id))


def _span_error(day_name: str, message: str) -> str:
    if "overlap" in message:
        return _("%(day)s: the times overlap.", day=day_name)
    if "close after" in message or "24:00" in message:
        return _("%(day)s: a time span must end after it begins.", day=day_name)
    return _(
        "%(day)s: write times like 08:00–12:00, several separated by commas"
        " (08:00–12:00, 14:00–17:30).",
        day=day_name,
    )


def _spans(raw: str) -> tuple[Span, ...]:
    """A field's spans ('' is none); the domain's ValueError when they are not spans."""
    text = SHORT_HOUR.sub(r"0\1:\2", DASHES.sub("-", raw.strip()))
    if not text:
        return ()
    return parse_spans(text.replace(";", ","))


@bp.post("/counters/<counter_id>/hours")
@require("office")
def counter_hours(staff: Staff, counter_id: str) -> ResponseReturnValue:
    """Own weekly hours from the seven fields (empty: closed that day), or back to the
    schedule's (`reset`)."""
    info = _info(counter_id)
    if request.form.get("reset") == "1":
        outside = set_hours(store(), info.id, None, now(), actor=actor(staff))
        message = _("%(name)s keeps the hours of its schedule again.", name=info.name)
    else:
        names = _day_names()
        fields = [request.form.get(f"day{d}", "")[:MAX_TEXT] for d in range(7)]
        errors: dict[int, str] = {}
        periods: list[OpeningPeriod] = []
        for weekday, raw in enumerate(fields):
            try:
                periods += [OpeningPeriod(weekday, o, c) for o, c in _spans(raw)]
            except ValueError as exc:
                errors[weekday] = _span_error(names[weekday], str(exc))
        if not errors and not periods:
            message = _(
                "A counter needs at least one opening a week. To close it, take it out of"
                " service instead."
            )
            return _counter_page(staff, info, 422, error=message, fields=fields)
        if errors:
            return _counter_page(
                staff,
                info,
                422,
                error=_("The hours were not changed. Please correct the marked days."),
                hour_errors=errors,
                fields=fields,
            )
        try:
            outside = set_hours(store(), info.id, periods, now(), actor=actor(staff))
        except CounterError as exc:  # checked above; a concurrent change could still refuse
            return _counter_page(staff, info, 422, error=str(exc), fields=fields)
        message = _("New weekly hours for %(name)s saved.", name=info.name)
    return _changed(staff, info, message, outside)


def _changed(
    staff: Staff, info: CounterInfo, message: str, outside: list[Booking]
) -> ResponseReturnValue:
    """After a change of hours: back to the counter's page, which lists the appointments ahead
    the new hours no longer cover (they stay booked)."""
    if not outside:
        flash(message)
        return redirect(url_for("admin.counter_page", counter_id=info.id))
    return _counter_page(staff, info, done_now=message, outside=_outside_rows(outside))


@bp.post("/counters/<counter_id>/exceptions")
@require("office")
def counter_exception(staff: Staff, counter_id: str) -> ResponseReturnValue:
    """A date's exception: closed all day, or open at other hours (replaces an earlier one)."""
    info = _info(counter_id)
    form = request.form
    kept = {
        "day": form.get("day", "")[:10],
        "kind": form.get("kind", "closed"),
        "hours": form.get("hours", "")[:MAX_TEXT],
        "reason": form.get("reason", "")[:MAX_TEXT],
    }
    errors: dict[str, str] = {}
    day = parse_day(kept["day"])
    if day is None:
        errors["day"] = day_error()
    elif day < today():
        errors["day"] = _("Choose today or a later day.")
    spans: tuple[Span, ...] = ()
    if kept["kind"] == "hours":
        try:
            spans = _spans(kept["hours"])
        except ValueError as exc:
            errors["hours"] = _span_error(_("Hours"), str(exc))
        else:
            if not spans:
                errors["hours"] = _("Enter the hours of that day, e.g. 10:00–14:00.")
    elif kept["kind"] != "closed":
        errors["kind"] = _("Choose closed or other hours.")
    if len(form.get("reason", "")) > MAX_TEXT:
        errors["reason"] = _("The reason may have at most 200 characters.")
    if errors or day is None:
        return _counter_page(
            staff,
            info,
            422,
            error=_("The exception was not saved. Please correct the marked fields."),
            exception_errors=errors,
            exception_form=kept,
        )
    outside = set_exception(
        store(), info.id, day, spans, now(), kept["reason"].strip(), actor=actor(staff)
    )
    message = _("Exception for %(day)s saved.", day=day.isoformat())
    return _changed(staff, info, message, outside)


@bp.post("/counters/<counter_id>/exceptions/<day>/remove")
@require("office")
def counter_exception_remove(staff: Staff, counter_id: str, day: str) -> ResponseReturnValue:
    """Drop a date's exception: the weekly hours apply again that day."""
    info = _info(counter_id)
    when = parse_day(day)
    if when is None:
        abort(404)
    try:
        remove_exception(store(), info.id, when, actor=actor(staff), now=now())
    except CounterError:
        error = _("There is no exception on %(day)s (any more).", day=when.isoformat())
        return _counter_page(staff, info, 404, error=error)
    flash(_("Exception for %(day)s removed: the weekly hours apply.", day=when.isoformat()))
    return redirect(url_for("admin.counter_page", counter_id=info.id))


@bp.post("/counters/<counter_id>/activate")
@require("office")
def counter_activate(staff: Staff, counter_id: str) -> ResponseReturnValue:
    """Put the counter in service (without an appliance only when the box says so)."""
    info = _info(counter_id)
    without = request.form.get("without_appliance") == "1"
    done = activate(store(), info.id, without, actor=actor(staff), now=now())
    if done.takes_bookings:
        flash(_("%(name)s is in service and takes bookings.", name=info.name))
    else:
        flash(
            _(
                "%(name)s is in service; it takes bookings once an appliance is enrolled for it.",
                name=info.name,
            )
        )
    return redirect(url_for("admin.counter_page", counter_id=info.id))


def _deactivate_page(
    staff: Staff, info: CounterInfo, bookings: list[Booking], status: int = 200, **values: object
) -> ResponseReturnValue:
    return render(
        "admin/counter_deactivate.html",
        staff,
        status,
        counter=info,
        ahead=_outside_rows(bookings),
        **values,
    )


@bp.get("/counters/<counter_id>/deactivate")
@require("office")
def counter_deactivate_page(staff: Staff, counter_id: str) -> ResponseReturnValue:
    """Before taking a counter out of service: its appointments ahead, and what can be done."""
    info = _info(counter_id)
    return _deactivate_page(staff, info, upcoming(store(), info.id, now()))


@bp.post("/counters/<counter_id>/deactivate")
@require("office")
def counter_deactivate(staff: Staff, counter_id: str) -> ResponseReturnValue:
    """Take the counter out of service; with `move`, its appointments ahead go to other
    counters first (all or none)."""
    info = _info(counter_id)
    move = request.form.get("move") == "1"
    try:
        done = deactivate(store(), info.id, now(), move, actor=actor(staff))
    except UpcomingAppointments as refused:
        if move:
            error = _(
                "Nothing was changed: these appointments fit at no other counter (none is open"
                " and free then). Open another counter at those times, or cancel them."
            )
        else:
            error = _(
                "Nothing was changed: the counter has appointments ahead (listed below). Move"
                " them to other counters first."
            )
        return _deactivate_page(staff, info, refused.bookings, 409, error=error, stuck=move)
    if done.moved:
        flash(
            ngettext(
                "%(name)s is out of service. %(num)d appointment was moved to another counter.",
                "%(name)s is out of service. %(num)d appointments were moved to other counters.",
                len(done.moved),
                name=info.name,
            )
        )
    else:
        flash(_("%(name)s is out of service: it takes no new bookings.", name=info.name))
    return redirect(url_for("admin.counter_page", counter_id=info.id))

"""The office's appointments (area "office": admin and supervisor): find them by day, service
and state (by a citizen's name or e-mail address only within a month or one service), book for
a citizen who phones, move one to another free time, cancel one with a reason the citizen reads
in the mail. Booking, moving and cancelling call hub.operations.booking, as the citizens' pages
and the JSON API do, with `actor` for the audit log. Reading is audited too: each showing of an
appointment's page (the citizen's name, address, phone) and each search for a person.

What the office may do beyond the public booking pages (docs/admin-guide.md): no rate limits
(staff are signed in, and every change is audited), no hold (the booking stands at once: the
citizen has confirmed on the phone), and, when the supervisor ticks it, more upcoming
appointments for one e-mail address than citizens may book themselves. Lead time, horizon,
opening hours and which counters take bookings are the same: the same free times."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections import OrderedDict
from datetime import date, datetime, timedelta
from typing import Any

from flask import abort, flash, get_flashed_messages, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from hub.booking.catalogue import Service
from hub.booking.emails import InvalidEmail, normalize_email
from hub.booking.names import normalize_name
from hub.booking.rules import BookingError, SlotTaken
from hub.booking.schedule import Interval
from hub.booking.search import (
    MAX_RANGE_DAYS,
    NAME_SEARCH_MAX_DAYS,
    Search,
    State,
    parse_reference,
)
from hub.booking.timezone import BERLIN, in_calendar, local_date
from hub.context import hub_settings, mails, now, store
from hub.messages import ERRORS
from hub.operations import booking
from hub.operations.accounts import Staff
from hub.operations.appointments import (
    MAX_RESULTS,
    Opened,
    by_reference,
    find,
    note_opened,
    note_search,
    open_appointment,
    service_names,
)
from hub.operations.booking import BookingRequest, NotFound
from hub.web.admin.blueprint import bp
from hub.web.admin.session import actor, require
from hub.web.admin.views import render

DAYS_SHOWN = 21  # the days with free times listed above the times, as on the public pages
REASON_MAX = 500
EMAIL_MAX = 254  # as hub.inputs allows
PHONE = re.compile(r"^\+?[0-9][0-9 ()/.\-]{2,29}$")


def state_names() -> dict[str, str]:
    """The states as the pages name them."""
    return {
        State.HELD: _("held, not yet confirmed"),
        State.BOOKED: _("booked"),
        State.DONE: _("done"),
        State.FOLLOW_UP: _("needs follow-up"),
        State.NO_SHOW: _("did not come"),
        State.DROPPED: _("call broke off"),
        State.CANCELLED: _("cancelled"),
        State.RELEASED: _("released (not confirmed)"),
    }


def _local(at: datetime) -> str:
    """A time as the office's clock shows it: 2026-03-02 08:00."""
    return at.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M")


def _day(raw: str) -> date | None:
    try:
        day = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        return None
    return day if day is not None and in_calendar(day) else None


def _start(raw: str) -> datetime | None:
    try:
        start = datetime.fromisoformat(raw[:40])
    except ValueError:
        return None
    if start.tzinfo is None or not in_calendar(start.date()):
        return None
    return start


def _appointment_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        abort(404)


def _error_text(code: str) -> str:
    """A refusal of the booking rules or of the search, as the office reads it."""
    own = {
        "name_needs_criteria": _(
            "To search by name or e-mail address, choose a service or a date range of at most "
            "%(days)d days. Nobody may browse the whole register for a person.",
            days=NAME_SEARCH_MAX_DAYS,
        ),
        "range_too_long": _("Search at most %(days)d days at once.", days=MAX_RANGE_DAYS),
        "who_too_long": _("The name or e-mail address is too long."),
        "slot_taken": _("This time has just been taken. Please choose another."),
        "too_many_appointments": _(
            "This e-mail address already holds as many upcoming appointments as citizens may "
            "book. Tick “Book beyond the limit” if the citizen really needs another one."
        ),
        "appointment_cancelled": _("This appointment has been cancelled already."),
        "appointment_past": _("This appointment has already begun or passed."),
        "hold_expired": _("This booking was not confirmed in time and has been released."),
    }
    if code in own:
        return own[code]
    if code in ERRORS:
        return str(ERRORS[code][1])
    return _("This change cannot be made (%(code)s).", code=code)


# --- finding -----------------------------------------------------------------------------


@bp.get("/appointments")
@require("office")
def appointments(staff: Staff) -> ResponseReturnValue:
    """Find appointments: by reference, or by days, service, state and (within limits) the
    citizen's name or e-mail address."""
    args = request.args
    today = local_date(now())
    services = service_names(store())
    known = {s.id for s in services}
    errors: dict[str, str] = {}
    reference = " ".join(args.get("ref", "").split())[:20]
    if reference:
        wanted = parse_reference(reference)
        if wanted is None:
            errors["ref"] = _(
                "A reference has 8 characters: digits and the letters A to F, e.g. 3F2A9C01."
            )
        else:
            ids = by_reference(store(), wanted)
            if len(ids) == 1:
                return redirect(url_for("admin.appointment", appointment_id=str(ids[0])))
            errors["ref"] = _("No appointment has the reference %(ref)s.", ref=wanted.upper())
    form = {
        "from": args.get("from", "")[:10],
        "to": args.get("to", "")[:10],
        "service": args.get("service", "")[:64],
        "state": args.get("state", "")[:16],
        "who": " ".join(args.get("who", "").split())[:300],
        "ref": reference,
    }
    first = _day(form["from"]) if form["from"] else today
    last = _day(form["to"]) if form["to"] else first
    if first is None:
        errors["from"] = _("Enter the first day as a date, e.g. %(day)s.", day=today.isoformat())
    if last is None:
        errors["to"] = _("Enter the last day as a date, e.g. %(day)s.", day=today.isoformat())
    if form["service"] and form["service"] not in known:
        errors["service"] = _("Choose a service from the list.")
    if form["state"] and form["state"] not in State.__members__.values():
        errors["state"] = _("Choose a state from the list.")
    findings = None
    if first is not None and last is not None and not (set(errors) - {"ref"}):
        search = Search(
            first,
            last,
            form["service"] or None,
            State(form["state"]) if form["state"] else None,
            form["who"],
        )
        try:
            findings = find(store(), search, now())
        except BookingError as exc:
            errors[exc.field or "who"] = _error_text(exc.code)
        else:
            if findings.named:  # a search for a person: who looked, never whom
                note_search(store(), search, len(findings.found), actor(staff), now())
    form["from"] = form["from"] or today.isoformat()
    form["to"] = form["to"] or form["from"]
    return render(
        "admin/appointments.html",
        staff,
        422 if errors else 200,
        form=form,
        errors=errors,
        findings=findings,
        services=services,
        states=state_names(),
        max_results=MAX_RESULTS,
        name_days=NAME_SEARCH_MAX_DAYS,
        local=_local,
    )


# --- one appointment: see it, cancel it -----------------------------------------------------


def _opened_or_404(appointment_id: uuid.UUID) -> Opened:
    opened = open_appointment(store(), appointment_id, now())
    if opened is None:
        abort(404)
    return opened


def _clean_reason(raw: str) -> str:
    """The reason as it goes into the mail: one paragraph, no control or invisible characters."""
    kept = "".join(
        " " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in raw[:2000]
    )
    return " ".join(unicodedata.normalize("NFC", kept).split())


@bp.route("/appointments/<appointment_id>", methods=["GET", "POST"])
@require("office")
def appointment(staff: Staff, appointment_id: str) -> ResponseReturnValue:
    """One appointment with the citizen's details; cancel it (POST, with a reason)."""
    key = _appointment_id(appointment_id)
    opened = _opened_or_404(key)
    errors: dict[str, str] = {}
    reason = ""
    if request.method == "POST":
        reason = _clean_reason(request.form.get("reason", ""))
        if not opened.changeable:
            errors["cancel"] = _("This appointment can no longer be cancelled.")
        elif not reason:
            errors["reason"] = _("Please give the reason. The citizen reads it in the mail.")
        elif len(reason) > REASON_MAX:
            errors["reason"] = _(
                "The reason may have at most %(count)d characters.", count=REASON_MAX
            )
        else:
            try:
                booking.cancel(
                    store(), now(), key, None, mails(), actor=actor(staff), reason=reason
                )
            except NotFound:
                abort(404)
            except BookingError as exc:
                errors["cancel"] = _error_text(exc.code)
            else:
                flash(
                    _(
                        "Appointment %(ref)s cancelled. The citizen gets a mail with the reason.",
                        ref=opened.reference,
                    )
                )
                return redirect(url_for("admin.appointment", appointment_id=str(key)), 303)
        opened = _opened_or_404(key)
    note_opened(store(), key, actor(staff), now())  # the citizen's details are on the page
    return render(
        "admin/appointment.html",
        staff,
        422 if errors else 200,
        appt=opened,
        errors=errors,
        reason=reason,
        reason_max=REASON_MAX,
        done=get_flashed_messages(),
        states=state_names(),
        local=_local,
    )


# --- free times: shared by moving and booking ------------------------------------------------


def _free_days(service_id: str) -> OrderedDict[date, list[Interval]]:
    """The next days with free times for the service (the public pages' slots)."""
    today = local_date(now())
    slots = booking.list_slots(
        store(),
        hub_settings().booking_policy,
        now(),
        service_id,
        today,
        today + timedelta(days=DAYS_SHOWN - 1),
    )
    days: OrderedDict[date, list[Interval]] = OrderedDict()
    for slot in slots:
        days.setdefault(local_date(slot.start), []).append(slot)
    return days


def _times_on(service_id: str, day: date) -> list[Interval]:
    try:
        return booking.list_slots(
            store(), hub_settings().booking_policy, now(), service_id, day, day
        )
    except BookingError:
        return []


def _choice(service_id: str, wanted: str) -> dict[str, Any]:
    """The days with free times, the day chosen (?day=, else the first with free times), its
    free times, and the bookable days for the date field."""
    days = _free_days(service_id)
    picked = _day(wanted)
    error = ""
    if wanted and picked is None:
        error = _("Enter the day as a date, e.g. %(day)s.", day=local_date(now()).isoformat())
    day = picked or next(iter(days), None)
    times: list[Interval] = []
    if day is not None:
        times = days[day] if day in days else _times_on(service_id, day)
    policy = hub_settings().booking_policy
    bookable = policy.bookable(now())
    return {
        "days": days,
        "day": day,
        "times": times,
        "day_error": error,
        "first_day": local_date(bookable.start).isoformat(),
        "last_day": local_date(bookable.end).isoformat(),
    }


# --- moving ---------------------------------------------------------------------------------


@bp.route("/appointments/<appointment_id>/move", methods=["GET", "POST"])
@require("office")
def move_appointment(staff: Staff, appointment_id: str) -> ResponseReturnValue:
    """Another free time for the appointment (?day= picks the day); the citizen gets the same
    mail as when they move it themselves. The old time stays if the new one is gone."""
    key = _appointment_id(appointment_id)
    opened = _opened_or_404(key)
    if not opened.changeable:
        flash(_("This appointment can no longer be moved."))
        return redirect(url_for("admin.appointment", appointment_id=str(key)), 303)
    error = ""
    status = 200
    if request.method == "POST":
        start = _start(request.form.get("start", ""))
        if start is None:
            error, status = _("Please choose one of the free times."), 422
        else:
            try:
                moved = booking.reschedule(
                    store(),
                    hub_settings().booking_policy,
                    now(),
                    key,
                    None,
                    start,
                    mails(),
                    actor=actor(staff),
                )
            except NotFound:
                abort(404)
            except BookingError as exc:
                error, status = _error_text(exc.code), 409 if isinstance(exc, SlotTaken) else 422
            else:
                flash(
                    _(
                        "Appointment %(ref)s moved to %(when)s. The citizen gets a mail.",
                        ref=opened.reference,
                        when=_local(moved.start),
                    )
                )
                return redirect(url_for("admin.appointment", appointment_id=str(key)), 303)
    return render(
        "admin/appointment_move.html",
        staff,
        status,
        appt=opened,
        error=error,
        states=state_names(),
        local=_local,
        **_choice(opened.service_id, request.args.get("day", "")),
    )


# --- booking for a citizen who phones ---------------------------------------------------------


def _offered(service_id: str) -> Service | None:
    return store().catalogue().services.get(service_id) if service_id else None


def _check_details(form: dict[str, str]) -> tuple[dict[str, str], tuple[str, str] | None]:
    """Name and e-mail address by the public booking's rules (hub.booking.names, .emails), in
    their one spelling; the phone number, if any, and the mails' language."""
    errors: dict[str, str] = {}
    name = email = ""
    try:
        name = normalize_name(form["name"])
    except ValueError:
        errors["name"] = (
            str(ERRORS["invalid_name"][1])
            if form["name"].strip()
            else _("Please enter the citizen's name.")
        )
    try:
        if len(form["email"]) > EMAIL_MAX:
            raise InvalidEmail("too long")
        email = normalize_email(form["email"])
    except InvalidEmail:
        errors["email"] = _("Please enter a valid e-mail address.")
    if form["phone"] and not (
        PHONE.match(form["phone"]) and sum(c.isdigit() for c in form["phone"]) >= 3
    ):
        errors["phone"] = _(
            "A phone number has digits, spaces and + ( ) / - only, e.g. +49 6221 58-0."
        )
    if form["locale"] not in ("de", "en"):
        errors["locale"] = _("Choose the language of the mails.")
    return errors, (None if errors else (name, email))


@bp.route("/appointments/new", methods=["GET", "POST"])
@require("office")
def book_for_citizen(staff: Staff) -> ResponseReturnValue:
    """Book for a citizen who phones: service and day (?service=, ?day=), a free time, name,
    e-mail address (the confirmation with the join link goes there), phone (optional)."""
    offered = list(store().catalogue().services.values())
    service = _offered(request.args.get("service", "")[:64])
    errors: dict[str, str] = {}
    form = {
        "name": request.form.get("name", "")[:1000],
        "email": request.form.get("email", "")[:300].strip(),
        "phone": " ".join(request.form.get("phone", "").split())[:40],
        "locale": request.form.get("locale", "de")[:2],
        "start": request.form.get("start", "")[:40],
        "beyond": request.form.get("beyond_limit", ""),
    }
    if request.args.get("service") and service is None:
        errors["service"] = _("Choose a service from the list.")
    status = 200
    if request.method == "POST":
        if service is None:
            errors["service"] = _("Choose a service from the list.")
        start = _start(form["start"])
        if start is None:
            errors["start"] = _("Please choose one of the free times.")
        details, person = _check_details(form)
        errors.update(details)
        if service is not None and start is not None and person is not None:
            limit = hub_settings().max_open_per_email or None
            try:
                booked = booking.book(
                    store(),
                    hub_settings().booking_policy,
                    now(),
                    BookingRequest(service.id, start, *person, form["locale"], form["phone"]),
                    mails(),
                    None if form["beyond"] == "yes" else limit,
                    None,  # no hold: the citizen confirmed on the phone
                    actor=actor(staff),
                )
            except BookingError as exc:
                field = "email" if exc.code == "too_many_appointments" else "start"
                errors[field] = _error_text(exc.code)
                status = 409
            else:
                made = booked.appointment
                flash(
                    _(
                        "Booked for %(when)s, reference %(ref)s. The confirmation with the join "
                        "link goes to %(email)s.",
                        when=_local(made.start),
                        ref=made.id.hex[:8].upper(),
                        email=made.email,
                    )
                )
                return redirect(url_for("admin.appointment", appointment_id=str(made.id)), 303)
        if errors and status == 200:
            status = 422
    choice = _choice(service.id, request.args.get("day", "")) if service else {}
    if choice.get("day_error"):
        errors["day"] = choice["day_error"]
    return render(
        "admin/appointment_new.html",
        staff,
        status if request.method == "POST" else (422 if errors else 200),
        service=service,
        services=offered,
        form=form,
        errors=errors,
        limit=hub_settings().max_open_per_email,
        local=_local,
        **choice,
    )

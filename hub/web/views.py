"""Routes of the citizens' pages. Each one parses the form, calls an operation, renders a page.

No link changes anything by being opened (mail scanners follow links): booking, moving and
cancelling are form posts.
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import suppress
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from babel.dates import format_date, format_time
from babel.numbers import format_currency
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from hub.booking.catalogue import Service
from hub.booking.rules import BookingError, SlotTaken
from hub.booking.schedule import Interval
from hub.booking.status import Status
from hub.booking.timezone import BERLIN, in_calendar, local_date
from hub.booking.tokens import looks_like_token
from hub.context import hub_settings, mails, now, store
from hub.i18n import current_language
from hub.inputs import BookingBody
from hub.links import links_for
from hub.messages import ERRORS
from hub.operations import booking
from hub.operations.booking import BookingRequest, NotFound
from hub.ratelimit import email_key, limiter, per_email_limit, write_limit

bp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/web",
)
DAYS_SHOWN = 21

FIELD_MESSAGES = {
    "name": lambda: _("Please enter your name."),
    "email": lambda: _("Please enter a valid e-mail address."),
    "consent": lambda: _("Please agree to the privacy notice."),
}


@bp.app_template_global()
def language_url(lang: str) -> str:
    """This page in `lang`: its own path and query with only `lang` changed.

    Built from the path, never by url_for with the query's arguments: those would steer url_for
    (`_external`, `_scheme`, `_method`) and could point the link at the Host header's site.
    """
    path = "/" + (request.script_root + request.path).lstrip("/")  # "//host" would leave us
    query = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"] + [("lang", lang)]
    return quote(path) + "?" + urlencode(query)


@bp.app_template_filter("day")
def _format_day(value: date | datetime) -> str:
    day = value.astimezone(BERLIN).date() if isinstance(value, datetime) else value
    return format_date(day, format="full", locale=current_language())


@bp.app_template_filter("shortday")
def _format_short_day(value: date) -> str:
    return format_date(
        value,
        format="EEE, d. MMM" if current_language() == "de" else "EEE, MMM d",
        locale=current_language(),
    )


@bp.app_template_filter("clock")
def _format_clock(value: datetime) -> str:
    return format_time(value.astimezone(BERLIN).time(), format="short", locale=current_language())


@bp.app_template_filter("money")
def _format_money(cents: int) -> str:
    return (
        format_currency(cents / 100, "EUR", locale=current_language())
        if cents
        else _("free of charge")
    )


def _service_or_404(service_id: str) -> Service:
    service = store().catalogue().services.get(service_id)
    if service is None:
        abort(404)
    return service


def _days_with_slots(service: Service) -> OrderedDict[date, list[Interval]]:
    today = local_date(now())
    slots = booking.list_slots(
        store(),
        hub_settings().booking_policy,
        now(),
        service.id,
        today,
        today + timedelta(days=DAYS_SHOWN - 1),
    )
    days: OrderedDict[date, list[Interval]] = OrderedDict()
    for slot in slots:
        days.setdefault(local_date(slot.start), []).append(slot)
    return days


def _chosen_day(days: OrderedDict[date, list[Interval]]) -> date | None:
    raw = request.args.get("day", "")
    try:
        wanted = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        wanted = None
    if wanted in days:
        return wanted
    return next(iter(days), None)


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    """The tab icon, for browsers and tools that ask for it without reading the page."""
    return bp.send_static_file("icon.svg")


@bp.get("/")
def services() -> ResponseReturnValue:
    """Step 1: which service."""
    return render_template(
        "services.html", services=booking.services(store()), lang=current_language()
    )


@bp.get("/book/<service_id>")
def slots(service_id: str) -> ResponseReturnValue:
    """Step 2: which day and time; the next days with free times first."""
    service = _service_or_404(service_id)
    days = _days_with_slots(service)
    return render_template(
        "slots.html",
        service=service,
        days=days,
        day=_chosen_day(days),
        lang=current_language(),
        taken=request.args.get("taken") == "1",
    )


def _parse_start(raw: str) -> datetime | None:
    try:
        start = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if start.tzinfo is None or not in_calendar(start.date()):
        return None  # far-off instants would overflow the slot arithmetic: no valid choice
    return start


@bp.route("/book/<service_id>/details", methods=["GET", "POST"])
@limiter.limit(write_limit, methods=["POST"])
@limiter.limit(per_email_limit, key_func=email_key, methods=["POST"])
def details(service_id: str) -> ResponseReturnValue:
    """Step 3: name, e-mail and consent; then book."""
    service = _service_or_404(service_id)
    start = _parse_start(request.values.get("start", ""))
    if start is None:
        return redirect(url_for("web.slots", service_id=service.id))
    form = {"name": request.form.get("name", ""), "email": request.form.get("email", "")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        errors, body = _validate(service, start, form)
        if body is not None:
            try:
                booked = booking.book(
                    store(),
                    hub_settings().booking_policy,
                    now(),
                    BookingRequest(service.id, start, body.name, body.email, current_language()),
                    mails(),
                    hub_settings().max_open_per_email or None,
                    hub_settings().hold,
                )
            except SlotTaken:
                return redirect(
                    url_for(
                        "web.slots",
                        service_id=service.id,
                        taken=1,
                        day=local_date(start).isoformat(),
                    ),
                    303,
                )
            except BookingError as exc:
                if exc.code != "too_many_appointments":
                    return redirect(url_for("web.slots", service_id=service.id, taken=1), 303)
                errors["email"] = _(
                    "This e-mail address already holds as many upcoming appointments as "
                    "allowed. Please cancel one first."
                )
                return render_template(
                    "details.html",
                    service=service,
                    start=start,
                    form=form,
                    errors=errors,
                    lang=current_language(),
                ), 409
            if booked.appointment.status == Status.HELD:
                # The manage link goes only by e-mail: confirming proves the address.
                return redirect(
                    url_for(
                        "web.check_mail",
                        until=booked.appointment.hold_until.isoformat()
                        if booked.appointment.hold_until
                        else "",
                    ),
                    303,
                )
            return redirect(url_for("web.manage", token=booked.manage_token, booked=1), 303)
    status = 422 if errors else 200
    return render_template(
        "details.html",
        service=service,
        start=start,
        form=form,
        errors=errors,
        lang=current_language(),
    ), status


def _validate(
    service: Service, start: datetime, form: dict[str, str]
) -> tuple[dict[str, str], BookingBody | None]:
    errors: dict[str, str] = {}
    body = None
    try:
        body = BookingBody.model_validate(
            {"service_id": service.id, "start": start, **form}, strict=False
        )
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            if field == "name" and form["name"].strip():
                # There is a name, but not as names are: say what they may hold.
                errors.setdefault(field, str(ERRORS["invalid_name"][1]))
            elif field in FIELD_MESSAGES:
                errors.setdefault(field, FIELD_MESSAGES[field]())
    if request.form.get("consent") != "yes":
        errors["consent"] = FIELD_MESSAGES["consent"]()
    return errors, (None if errors else body)


def _appointment_or_404(token: str) -> booking.Appointment:
    if not looks_like_token(token):
        abort(404)
    try:
        return booking.find_by_manage_token(store(), token)
    except NotFound:
        abort(404)


def _manage_context(token: str) -> dict[str, Any]:
    appt = _appointment_or_404(token)
    service = store().catalogue().services.get(appt.service_id)
    return {
        "appt": appt,
        "service": service,
        "token": token,
        "lang": current_language(),
        "past": appt.start <= now(),
        "hold_open": appt.status == Status.HELD
        and appt.hold_until is not None
        and appt.hold_until > now(),
        "join_url": links_for(hub_settings().public_url, token).join,
        "join_before": hub_settings().join_before_minutes,
    }


@bp.get("/manage/<token>")
def manage(token: str) -> ResponseReturnValue:
    """The appointment behind a manage link; cancel and move from here."""
    context = _manage_context(token)
    return render_template(
        "manage.html",
        booked=request.args.get("booked") == "1",
        moved=request.args.get("moved") == "1",
        **context,
    )


@bp.get("/book/check-your-mail")
def check_mail() -> ResponseReturnValue:
    """After booking with holds on: confirm from the e-mail in time."""
    until = _parse_start(request.args.get("until", ""))
    return render_template("check_mail.html", until=until, lang=current_language())


@bp.post("/manage/<token>/confirm")
@limiter.limit(write_limit)
def confirm(token: str) -> ResponseReturnValue:
    """Confirm a held booking (the button on the page the e-mail links to)."""
    appt = _appointment_or_404(token)
    try:
        booking.confirm(store(), now(), appt.id, token, mails())
    except BookingError:
        return redirect(url_for("web.manage", token=token), 303)
    return redirect(url_for("web.manage", token=token, booked=1), 303)


@bp.post("/manage/<token>/cancel")
@limiter.limit(write_limit)
def cancel(token: str) -> ResponseReturnValue:
    """Cancel (a button press, never a bare link)."""
    appt = _appointment_or_404(token)
    with suppress(BookingError):  # the page says why it cannot be cancelled (begun or over)
        booking.cancel(store(), now(), appt.id, token, mails())
    return redirect(url_for("web.manage", token=token), 303)


@bp.route("/manage/<token>/move", methods=["GET", "POST"])
@limiter.limit(write_limit, methods=["POST"])
def move(token: str) -> ResponseReturnValue:
    """Pick a new time; the old one is kept if the new one is taken meanwhile."""
    context = _manage_context(token)
    appt, service = context["appt"], context["service"]
    if service is None or appt.status != Status.BOOKED or context["past"]:
        return redirect(url_for("web.manage", token=token), 303)
    taken = False
    if request.method == "POST":
        start = _parse_start(request.form.get("start", ""))
        if start is not None:
            try:
                booking.reschedule(
                    store(), hub_settings().booking_policy, now(), appt.id, token, start, mails()
                )
                return redirect(url_for("web.manage", token=token, moved=1), 303)
            except BookingError:
                taken = True
    days = _days_with_slots(service)
    return render_template("move.html", days=days, day=_chosen_day(days), taken=taken, **context), (
        409 if taken else 200
    )


@bp.get("/privacy")
def privacy() -> ResponseReturnValue:
    """The privacy notice (text configurable)."""
    return render_template(
        "page.html",
        title=_("Privacy notice"),
        lang=current_language(),
        text=hub_settings().privacy_text or None,
        kind="privacy",
        documents_days=hub_settings().documents_retention_days,
    )


@bp.get("/imprint")
def imprint() -> ResponseReturnValue:
    """The imprint (text configurable)."""
    return render_template(
        "page.html",
        title=_("Imprint"),
        lang=current_language(),
        text=hub_settings().imprint_text or None,
        kind="imprint",
    )


def error_page(exc: HTTPException) -> ResponseReturnValue:
    """A page for 404, 405, 429 and the like, in the visitor's language."""
    if isinstance(exc, CSRFError):  # a form from another site, or from a session long gone
        message = _(
            "This form has expired or did not come from our website. Nothing was changed. "
            "Please go back, reload the page and try again."
        )
        return render_template("error.html", message=message, lang=current_language()), 400
    messages = {
        404: _("This page does not exist, or the link is no longer valid."),
        429: _("Too many requests. Please wait a moment and try again."),
    }
    message = messages.get(exc.code or 500, _("Something went wrong. Please try again later."))
    return render_template("error.html", message=message, lang=current_language()), exc.code or 500

"""The closures page (/admin/closures, area "office"): the closures ahead, removing one, and a
new one in two steps. The first step (GET /admin/closures/check) changes nothing: it lists the
appointments the closure would fall on (time, service, counter). Confirming it (POST
/admin/closures) stores the closure, cancels exactly those appointments and mails each citizen
once, with a link to book the same service again (hub.operations.catalogue.add_closure, one
transaction, audited as `web:<username>`). Were other appointments booked or cancelled on those
days meanwhile, nothing is stored and the step is shown again with the appointments as they are."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from flask import flash, get_flashed_messages, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.datastructures import MultiDict

from hub.context import now, store
from hub.operations.accounts import Staff
from hub.operations.catalogue import (
    MAX_CLOSURE_DAYS,
    CatalogueError,
    ClosureHit,
    ClosureHitsChanged,
    add_closure,
    closure_hits,
    list_closures,
    list_schedules,
    remove_closure,
)
from hub.store.seed import STANDARD_SCHEDULE
from hub.web.admin.blueprint import bp
from hub.web.admin.office import MAX_TEXT, day_error, listed, parse_day, today
from hub.web.admin.session import actor, require
from hub.web.admin.views import render


@dataclass(frozen=True)
class Asked:
    """A closure as the form gave it, checked."""

    first_day: date
    last_day: date
    reason: str
    schedule: str


def _values(form: MultiDict[str, str]) -> dict[str, str]:
    """What was typed, to fill the form in again."""
    return {
        "first_day": form.get("first_day", "")[:10],
        "last_day": form.get("last_day", "")[:10],
        "reason": form.get("reason", "")[:MAX_TEXT],
        "schedule": form.get("schedule", STANDARD_SCHEDULE)[:100],
    }


def _checked(form: MultiDict[str, str]) -> Asked | dict[str, str]:
    """The closure the form asks for, or the fields' errors."""
    errors: dict[str, str] = {}
    first = parse_day(form.get("first_day", ""))
    raw_last = form.get("last_day", "").strip()
    last = parse_day(raw_last) if raw_last else first
    if first is None:
        errors["first_day"] = day_error()
    elif first < today():
        errors["first_day"] = _("Choose today or a later day.")
    if last is None:
        errors["last_day"] = day_error()
    elif first is not None and last < first:
        errors["last_day"] = _("The last day cannot lie before the first.")
    elif first is not None and (last - first).days >= MAX_CLOSURE_DAYS:
        errors["last_day"] = _("A closure lasts at most a year.")
    reason = " ".join(form.get("reason", "").split())
    if len(reason) > MAX_TEXT:
        errors["reason"] = _("The reason may have at most 200 characters.")
    schedule = form.get("schedule", STANDARD_SCHEDULE)
    if schedule not in list_schedules(store()):
        errors["schedule"] = _("Choose one of the schedules.")
    if errors or first is None or last is None:
        return errors
    return Asked(first, last, reason, schedule)


def _list_page(staff: Staff, status: int = 200, **values: object) -> ResponseReturnValue:
    values.setdefault("form", {"schedule": STANDARD_SCHEDULE})
    return render(
        "admin/closures.html",
        staff,
        status,
        closures=list_closures(store(), today()),
        schedules=list_schedules(store()),
        today=today(),
        done=get_flashed_messages(),
        **values,
    )


@bp.get("/closures")
@require("office")
def closures_page(staff: Staff) -> ResponseReturnValue:
    """The closures from today on, and the form for a new one."""
    return _list_page(staff)


def _confirm_page(
    staff: Staff, asked: Asked, hits: list[ClosureHit], status: int = 200, **values: object
) -> ResponseReturnValue:
    return render(
        "admin/closure_confirm.html",
        staff,
        status,
        asked=asked,
        hits=listed([(h.id, h.start, h.end, h.service_id, h.counter_id) for h in hits]),
        several_schedules=len(list_schedules(store())) > 1,
        **values,
    )


@bp.get("/closures/check")
@require("office")
def closure_check(staff: Staff) -> ResponseReturnValue:
    """Step one: the appointments the closure would fall on. Nothing is changed."""
    asked = _checked(request.args)
    if not isinstance(asked, Asked):
        error = _("The closure was not checked. Please correct the marked fields.")
        return _list_page(staff, 422, error=error, errors=asked, form=_values(request.args))
    hits = closure_hits(store(), asked.first_day, asked.last_day, now(), asked.schedule)
    return _confirm_page(staff, asked, hits)


@bp.post("/closures")
@require("office")
def closure_add(staff: Staff) -> ResponseReturnValue:
    """Step two: store the closure, cancel the appointments shown and mail their citizens."""
    asked = _checked(request.form)
    if not isinstance(asked, Asked):
        error = _("The closure was not saved. Please correct the marked fields.")
        return _list_page(staff, 422, error=error, errors=asked, form=_values(request.form))
    try:
        expected = {uuid.UUID(v) for v in request.form.getlist("appointment")}
    except ValueError:
        expected = None
    if expected is None or len(expected) > 100_000:
        hits = closure_hits(store(), asked.first_day, asked.last_day, now(), asked.schedule)
        error = _("Nothing was saved. Please check the appointments again and confirm.")
        return _confirm_page(staff, asked, hits, 409, error=error)
    try:
        added = add_closure(
            store(),
            asked.first_day,
            asked.last_day,
            asked.reason,
            asked.schedule,
            actor=actor(staff),
            now=now(),
            cancel=True,
            expected=expected,
        )
    except ClosureHitsChanged as changed:
        error = _(
            "Nothing was saved: appointments on these days were booked or cancelled meanwhile."
            " Here they are as they are now; please confirm again."
        )
        return _confirm_page(staff, asked, changed.hits, 409, error=error)
    except CatalogueError as exc:  # checked above; the catalogue may have changed meanwhile
        error = _("This closure cannot be saved: %(reason)s", reason=str(exc))
        return _list_page(staff, 422, error=error, form=_values(request.form))
    days = _days_text(asked.first_day, asked.last_day)
    if added.hits:
        flash(
            ngettext(
                "Closed %(days)s. %(num)d appointment was cancelled; its citizen gets a mail"
                " with a link to book again.",
                "Closed %(days)s. %(num)d appointments were cancelled; each citizen gets a mail"
                " with a link to book again.",
                len(added.hits),
                days=days,
            )
        )
    else:
        flash(_("Closed %(days)s. No appointments were booked then.", days=days))
    return redirect(url_for("admin.closures_page"))


def _days_text(first: date, last: date) -> str:
    if first == last:
        return first.isoformat()
    return f"{first.isoformat()} – {last.isoformat()}"


@bp.post("/closures/<closure_id>/remove")
@require("office")
def closure_remove(staff: Staff, closure_id: str) -> ResponseReturnValue:
    """Open the days of a closure again; appointments it cancelled stay cancelled."""
    if not closure_id.isdigit() or len(closure_id) > 9:
        return _list_page(staff, 404, error=_("There is no such closure (any more)."))
    try:
        gone = remove_closure(store(), int(closure_id), actor=actor(staff), now=now())
    except CatalogueError:
        return _list_page(staff, 404, error=_("There is no such closure (any more)."))
    flash(
        _(
            "Closure %(days)s removed: those days are open again.",
            days=_days_text(gone.first_day, gone.last_day),
        )
    )
    return redirect(url_for("admin.closures_page"))

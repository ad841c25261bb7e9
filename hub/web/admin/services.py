"""The services pages (/admin/services, area "office"): every service with its duration, fee,
counters and whether citizens see it; a service's page to edit its names and descriptions in
German and English, duration, fee, checklist of documents, the counters that offer it, its
visibility and its fee items; and a form for a new service.

The rules are in hub.operations.services and hub.operations.fees (the CLI calls them too);
every change is audited there as `web:<username>`. A refused form changes nothing and comes
back with what was typed and the field at fault marked."""

from __future__ import annotations

from flask import abort, flash, get_flashed_messages, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from hub.booking.fees import FeeError, FeeItem, format_euros, parse_euros
from hub.booking.rules import MAX_DURATION_MINUTES
from hub.context import now, store
from hub.operations.accounts import Staff
from hub.operations.catalogue import CatalogueError, list_services
from hub.operations.counters import list_counters
from hub.operations.fees import remove_fee_item, set_fee_item
from hub.operations.services import (
    MAX_DESCRIPTION,
    MAX_DOCUMENT,
    MAX_DOCUMENTS,
    MAX_NAME,
    ServiceDetails,
    ServiceDraft,
    add_service,
    save_service,
    service_details,
)
from hub.web.admin.blueprint import bp
from hub.web.admin.session import actor, require
from hub.web.admin.views import render

# What each field of the forms means when it is wrong, in the page's language.
FIELD_ERRORS = {
    "id": lambda: _(
        "An id is 2 to 64 lower-case letters, digits or hyphens, e.g. personalausweis."
    ),
    "name_de": lambda: _("Give a German name of at most %(n)d characters.", n=MAX_NAME),
    "name_en": lambda: _("Give an English name of at most %(n)d characters.", n=MAX_NAME),
    "description_de": lambda: _("At most %(n)d characters.", n=MAX_DESCRIPTION),
    "description_en": lambda: _("At most %(n)d characters.", n=MAX_DESCRIPTION),
    "duration_minutes": lambda: _(
        "A duration in minutes, a multiple of 5, from 5 to %(n)d.", n=MAX_DURATION_MINUTES
    ),
    "fee_cents": lambda: _("An amount in euros, e.g. 12,50."),
    "documents_de": lambda: _(
        "At most %(count)d documents, one a line, each at most %(n)d characters.",
        count=MAX_DOCUMENTS,
        n=MAX_DOCUMENT,
    ),
    "documents_en": lambda: _(
        "At most %(count)d documents, one a line, each at most %(n)d characters.",
        count=MAX_DOCUMENTS,
        n=MAX_DOCUMENT,
    ),
    "counters": lambda: _("Choose at least one counter, or offer it at every counter."),
}

FEE_ERRORS = {
    "code": lambda: _("A code is 1 to 36 letters, digits, '-' or '_', one per fee of a service."),
    "label_de": lambda: _("Give a German label of at most 100 characters."),
    "purpose": lambda: _(
        "A booking text of at most 27 letters A–Z, digits, spaces and hyphens (ae for ä)."
    ),
    "amount": lambda: _("An amount in euros, e.g. 12,50."),
    "amount_cents": lambda: _("An amount from 0 to 9.999,99 €."),
    "kassenzeichen": lambda: _("At most 36 letters, digits, '.', '-' or '/'."),
    "haushaltsstelle": lambda: _("At most 36 letters, digits, '.', '-' or '/'."),
    "items": lambda: _("A service has at most 99 fees."),
}


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _form_draft() -> tuple[ServiceDraft | None, dict[str, str], dict[str, str]]:
    """The draft the form sends, or None with the errors per field; and the typed values."""
    form = request.form
    typed = {
        key: form.get(key, "")[:5000]
        for key in (
            "id",
            "name_de",
            "name_en",
            "description_de",
            "description_en",
            "duration_minutes",
            "fee",
            "documents_de",
            "documents_en",
        )
    }
    errors: dict[str, str] = {}
    duration = typed["duration_minutes"].strip()
    if not duration.isdigit() or len(duration) > 4:
        errors["duration_minutes"] = FIELD_ERRORS["duration_minutes"]()
    try:
        fee_cents = parse_euros(typed["fee"]) if typed["fee"].strip() else 0
    except FeeError:
        errors["fee_cents"] = FIELD_ERRORS["fee_cents"]()
        fee_cents = 0
    counters: frozenset[int] | None = None
    if form.get("where") == "some":
        chosen = form.getlist("counter")
        if not all(c.isdigit() and len(c) < 10 for c in chosen):
            abort(400)
        counters = frozenset(int(c) for c in chosen)
    if errors:
        return None, errors, typed
    draft = ServiceDraft(
        " ".join(typed["name_de"].split()),
        " ".join(typed["name_en"].split()),
        typed["description_de"].strip(),
        typed["description_en"].strip(),
        int(duration),
        fee_cents,
        _lines(typed["documents_de"]),
        _lines(typed["documents_en"]),
        counters,
        form.get("visible") == "1",
    )
    return draft, errors, typed


def _chosen() -> set[int]:
    """The counters ticked (what the form shows again after a refusal)."""
    return {int(c) for c in request.form.getlist("counter") if c.isdigit() and len(c) < 10}


def _typed(draft: ServiceDraft) -> dict[str, str]:
    """A draft as the form's fields show it."""
    return {
        "name_de": draft.name_de,
        "name_en": draft.name_en,
        "description_de": draft.description_de,
        "description_en": draft.description_en,
        "duration_minutes": str(draft.duration_minutes),
        "fee": format_euros(draft.fee_cents).removesuffix(" €"),
        "documents_de": "\n".join(draft.documents_de),
        "documents_en": "\n".join(draft.documents_en),
    }


def _refusal(exc: CatalogueError) -> dict[str, str]:
    if exc.field in FIELD_ERRORS:
        return {exc.field: FIELD_ERRORS[exc.field]()}
    return {"form": _("The service could not be saved: %(reason)s", reason=str(exc))}


# --- the list ------------------------------------------------------------------------------------


@bp.get("/services")
@require("office")
def services_page(staff: Staff) -> ResponseReturnValue:
    """Every service, shown or hidden, in the order citizens see them."""
    entries = list_services(store())
    details = {s.id: service_details(store(), s.id, now()) for s in entries}
    names = {c.id: c.name for c in list_counters(store())}
    offered_at = {
        service_id: ", ".join(sorted(names[c] for c in d.draft.counters or ()))
        for service_id, d in details.items()
    }
    return render(
        "admin/services.html",
        staff,
        services=entries,
        details=details,
        offered_at=offered_at,
        euros=format_euros,
        done=get_flashed_messages(),
    )


def _new_page(staff: Staff, status: int = 200, **values: object) -> ResponseReturnValue:
    return render(
        "admin/service.html",
        staff,
        status,
        service=None,
        counters=list_counters(store()),
        **values,
    )


@bp.get("/services/new")
@require("office")
def new_service_page(staff: Staff) -> ResponseReturnValue:
    """The form for a new service (hidden until the office shows it)."""
    typed = {"duration_minutes": "15", "fee": "0,00"}
    return _new_page(staff, typed=typed, errors={}, where="all", chosen=set(), visible=False)


@bp.post("/services/new")
@require("office")
def new_service(staff: Staff) -> ResponseReturnValue:
    """Add the service the form describes."""
    draft, errors, typed = _form_draft()
    service_id = typed["id"].strip()
    where = "some" if request.form.get("where") == "some" else "all"
    chosen = _chosen()
    visible = request.form.get("visible") == "1"
    if draft is not None:
        try:
            add_service(store(), service_id, draft, actor=actor(staff), now=now())
        except CatalogueError as exc:
            errors = _refusal(exc)
            if exc.field == "id" and "exists" in str(exc):
                errors = {"id": _("A service with the id %(id)s exists already.", id=service_id)}
        else:
            flash(_("Service %(name)s added.", name=draft.name_de))
            return redirect(url_for("admin.service_page", service_id=service_id), 303)
    return _new_page(
        staff, 422, typed=typed, errors=errors, where=where, chosen=chosen, visible=visible
    )


# --- one service ---------------------------------------------------------------------------------


def _details(service_id: str) -> ServiceDetails:
    try:
        return service_details(store(), service_id, now())
    except CatalogueError:
        abort(404)


def _service_page(
    staff: Staff, details: ServiceDetails, status: int = 200, **values: object
) -> ResponseReturnValue:
    draft = details.draft
    values.setdefault("typed", _typed(draft))
    values.setdefault("errors", {})
    values.setdefault("where", "all" if draft.counters is None else "some")
    values.setdefault("chosen", set(draft.counters or ()))
    values.setdefault("visible", draft.active)
    values.setdefault("fee_typed", {})
    values.setdefault("fee_errors", {})
    return render(
        "admin/service.html",
        staff,
        status,
        service=details,
        counters=list_counters(store()),
        euros=format_euros,
        done=get_flashed_messages(),
        **values,
    )


@bp.get("/services/<service_id>")
@require("office")
def service_page(staff: Staff, service_id: str) -> ResponseReturnValue:
    """A service's settings and fee items, as forms."""
    return _service_page(staff, _details(service_id))


@bp.post("/services/<service_id>")
@require("office")
def save_service_form(staff: Staff, service_id: str) -> ResponseReturnValue:
    """Save the service's settings."""
    details = _details(service_id)
    draft, errors, typed = _form_draft()
    if draft is not None:
        try:
            save_service(store(), service_id, draft, actor=actor(staff), now=now())
        except CatalogueError as exc:
            errors = _refusal(exc)
        else:
            flash(_("Service %(name)s saved.", name=draft.name_de))
            return redirect(url_for("admin.service_page", service_id=service_id), 303)
    return _service_page(
        staff,
        details,
        422,
        typed=typed,
        errors=errors,
        where="some" if request.form.get("where") == "some" else "all",
        chosen=_chosen(),
        visible=request.form.get("visible") == "1",
    )


def _form_fee() -> tuple[FeeItem | None, dict[str, str], dict[str, str]]:
    form = request.form
    typed = {
        key: form.get(key, "")[:200]
        for key in (
            "code",
            "label_de",
            "label_en",
            "purpose",
            "amount",
            "kassenzeichen",
            "haushaltsstelle",
        )
    }
    typed["variable_quantity"] = "1" if form.get("variable_quantity") == "1" else ""
    try:
        item = FeeItem(
            typed["code"].strip(),
            " ".join(typed["label_de"].split()),
            " ".join(typed["label_en"].split()),
            typed["purpose"].strip(),
            parse_euros(typed["amount"]),
            typed["kassenzeichen"].strip(),
            typed["haushaltsstelle"].strip(),
            form.get("variable_quantity") == "1",
        )
    except FeeError as exc:
        field = exc.field if exc.field in FEE_ERRORS else "amount"
        return None, {field: FEE_ERRORS[field]()}, typed
    return item, {}, typed


@bp.post("/services/<service_id>/fees")
@require("office")
def save_fee(staff: Staff, service_id: str) -> ResponseReturnValue:
    """Add a fee item, or replace the one with its code."""
    details = _details(service_id)
    item, errors, typed = _form_fee()
    if item is not None:
        try:
            set_fee_item(store(), service_id, item, actor=actor(staff), now=now())
        except CatalogueError as exc:
            field = exc.field if exc.field in FEE_ERRORS else "code"
            errors = {field: FEE_ERRORS[field]()}
        else:
            flash(_("Fee %(label)s saved.", label=item.label_de))
            return redirect(url_for("admin.service_page", service_id=service_id) + "#fees", 303)
    return _service_page(staff, details, 422, fee_typed=typed, fee_errors=errors)


@bp.post("/services/<service_id>/fees/<code>/remove")
@require("office")
def remove_fee(staff: Staff, service_id: str, code: str) -> ResponseReturnValue:
    """Remove a fee item (payments already asked for keep theirs)."""
    _details(service_id)
    try:
        remove_fee_item(store(), service_id, code, actor=actor(staff), now=now())
    except CatalogueError:
        abort(404)
    flash(_("Fee %(code)s removed.", code=code))
    return redirect(url_for("admin.service_page", service_id=service_id) + "#fees", 303)

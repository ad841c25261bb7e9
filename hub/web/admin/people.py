"""Staff accounts for admins: create (clerks sign in at a counter with it), reset a password
(the second factor is set up again), change the role, disable and enable. Through
hub.operations.staff, audited."""

from __future__ import annotations

from flask import flash, get_flashed_messages, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from hub.booking.timezone import to_local_iso
from hub.context import now, store
from hub.operations.accounts import AccountError, Staff
from hub.operations.staff import (
    STAFF_ROLES,
    create_staff,
    list_staff,
    reset_password,
    set_active,
    set_role,
)
from hub.web.admin.blueprint import bp
from hub.web.admin.session import actor, require, role_names
from hub.web.admin.views import render


def _page(staff: Staff, status: int = 200, **values: object) -> ResponseReturnValue:
    return render(
        "admin/people.html",
        staff,
        status,
        people=list_staff(store()),
        roles=role_names(),
        role_order=STAFF_ROLES,
        done=get_flashed_messages(),
        local=lambda at: to_local_iso(at)[:16].replace("T", " "),
        now=now(),
        **values,
    )


@bp.get("/people")
@require("people")
def people(staff: Staff) -> ResponseReturnValue:
    """The accounts and the form for a new one."""
    return _page(staff)


def _account_error(exc: AccountError) -> str:
    """The operation's English line as the page says it (the known ones translated)."""
    text = str(exc)
    known = {
        "username:": _("The name may have 1 to 64 letters, digits, '.', '_' or '-'."),
        "password: at least": _("The password needs at least 8 characters."),
        "password: at most": _("The password may have at most 200 characters."),
        "role must": _("Choose a role."),
        "you cannot disable": _("You cannot disable your own account."),
        "the last administrator": _(
            "This is the last active administrator's account: it keeps the role. Give another "
            "account the role Administrator first."
        ),
    }
    for start, message in known.items():
        if text.startswith(start):
            return message
    if text.startswith("user ") and text.endswith("exists already"):
        return _("This name is taken.")
    return _("This change cannot be made: %(reason)s", reason=text)


@bp.post("/people")
@require("people")
def add_person(staff: Staff) -> ResponseReturnValue:
    """A new account; its password is given to the person, who sets up their second factor."""
    form = request.form
    try:
        create_staff(
            store(),
            actor(staff),
            form.get("username", "")[:64],
            form.get("password", ""),
            form.get("role", ""),
            now(),
            display_name=form.get("display_name", "").strip()[:200],
        )
    except AccountError as exc:
        values = {k: form.get(k, "")[:200] for k in ("username", "display_name", "role")}
        return _page(staff, 422, error=_account_error(exc), form=values)
    flash(_("Account %(name)s created.", name=form.get("username", "").strip().lower()))
    return redirect(url_for("admin.people"))


def _person_id(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 10 else None


@bp.post("/people/<user_id>/password")
@require("people")
def new_password(staff: Staff, user_id: str) -> ResponseReturnValue:
    """Set a new password; the person sets up their second factor again."""
    key = _person_id(user_id)
    if key is None:
        return _page(staff, 404, error=_("There is no such account."))
    try:
        reset_password(store(), actor(staff), key, request.form.get("password", ""), now())
    except AccountError as exc:
        return _page(staff, 422, error=_account_error(exc))
    flash(_("New password set. The second factor is set up again at the next sign-in."))
    return redirect(url_for("admin.people"))


@bp.post("/people/<user_id>/active")
@require("people")
def activity(staff: Staff, user_id: str) -> ResponseReturnValue:
    """Disable or enable an account (`active` = 1 or 0)."""
    key = _person_id(user_id)
    wanted = request.form.get("active", "")
    if key is None or wanted not in ("0", "1"):
        return _page(staff, 404 if key is None else 422, error=_("There is no such account."))
    try:
        set_active(store(), actor(staff), key, wanted == "1", now(), own_id=staff.id)
    except AccountError as exc:
        return _page(staff, 422, error=_account_error(exc))
    flash(_("Account enabled.") if wanted == "1" else _("Account disabled."))
    return redirect(url_for("admin.people"))


@bp.post("/people/<user_id>/role")
@require("people")
def change_role(staff: Staff, user_id: str) -> ResponseReturnValue:
    """Give an account another role; it applies from the person's next click."""
    key = _person_id(user_id)
    if key is None:
        return _page(staff, 404, error=_("There is no such account."))
    role = request.form.get("role", "")[:16]
    try:
        name = set_role(store(), actor(staff), key, role, now())
    except AccountError as exc:
        status = 404 if str(exc).startswith("no account") else 422
        message = _("There is no such account.") if status == 404 else _account_error(exc)
        return _page(staff, status, error=message)
    flash(_("%(name)s now has the role %(role)s.", name=name, role=role_names()[role]))
    return redirect(url_for("admin.people"))

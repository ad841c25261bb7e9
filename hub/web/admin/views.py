"""The admin area's start page (what this role may open) and the audit list."""

from __future__ import annotations

import json

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from hub.booking.timezone import to_local_iso
from hub.context import store
from hub.i18n import current_language
from hub.operations.accounts import Staff
from hub.operations.audit import PAGE, entries
from hub.web.admin.blueprint import bp
from hub.web.admin.session import areas_of, may, require, signed_in


def render(template: str, staff: Staff, status: int = 200, **values: object) -> ResponseReturnValue:
    """An admin page: the layout's navigation shows the areas `staff` may open."""
    areas = areas_of(staff)
    return (
        render_template(template, lang=current_language(), staff=staff, areas=areas, **values),
        status,
    )


@bp.get("/")
def home() -> ResponseReturnValue:
    """The start page, or the sign-in."""
    staff = signed_in()
    if staff is None:
        return redirect(url_for("admin.sign_in"))
    if may(staff, "own_day"):  # a clerk has nothing else here
        return redirect(url_for("admin.my_day"))
    return render("admin/home.html", staff)


def _shown(values: dict[str, object] | None) -> str:
    return json.dumps(values, ensure_ascii=False, sort_keys=True) if values else ""


@bp.get("/audit")
@require("audit")
def audit(staff: Staff) -> ResponseReturnValue:
    """Every change, newest first, 50 a page; ?actor= and ?action= (a prefix) narrow it."""
    page = request.args.get("page", "0")
    number = int(page) if page.isdigit() else 0
    actor = request.args.get("actor", "").strip()[:120] or None
    action = request.args.get("action", "").strip()[:64] or None
    listed, total = entries(store(), page=number, actor=actor, action=action)
    return render(
        "admin/audit.html",
        staff,
        entries=listed,
        total=total,
        page=number,
        pages=max(1, -(-total // PAGE)),
        actor=actor or "",
        action=action or "",
        local=lambda at: to_local_iso(at)[:19].replace("T", " "),
        shown=_shown,
    )

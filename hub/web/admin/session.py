"""Who is signed in to the admin area: the Flask session (signed with the hub's key) holds the
account's id, how far the sign-in got, and when it began and was last used. The account is read
again on every request, so disabling it or changing its role takes effect at once. A page of
another role's area answers 403 with a page that says so and leads to the person's own page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Response, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from hub.context import now, store
from hub.i18n import current_language
from hub.operations.accounts import Staff, verify_staff
from hub.operations.staff import staff_by_id

KEY = "admin"
IDLE = timedelta(minutes=30)  # a desk left alone
LONGEST = timedelta(hours=10)  # a working day, then sign in again

# Which roles open which part (docs/admin-guide.md).
AREAS: dict[str, tuple[str, ...]] = {
    "office": ("admin", "supervisor"),  # counters, hours, closures, services, appointments
    "statistics": ("admin", "supervisor"),
    "devices": ("admin", "it"),
    "people": ("admin",),
    "cash": ("admin",),  # the cash office's payments (/office/payments); no cash role (yet)
    "audit": ("admin", "supervisor", "it"),
    "own_day": ("clerk",),  # "Mein Tag": a clerk's own appointments and calls, nothing else
}

F = TypeVar("F", bound=Callable[..., ResponseReturnValue])


def begin(user_id: int, step: str) -> None:
    """A new sign-in: a fresh session (nothing of an earlier one carries over)."""
    session.clear()
    at = now().isoformat()
    session[KEY] = {"uid": user_id, "step": step, "since": at, "seen": at}


def advance(step: str) -> None:
    """The next step of the sign-in passed (`in`: signed in)."""
    data = dict(session.get(KEY) or {})
    data["step"] = step
    session[KEY] = data


def end() -> None:
    """Sign out."""
    session.clear()


def pending(step: str) -> int | None:
    """The account whose sign-in waits at `step` (and has not run out of time)."""
    data = _fresh()
    return int(data["uid"]) if data and data.get("step") == step else None


def _fresh() -> dict[str, Any] | None:
    data = session.get(KEY)
    if not isinstance(data, dict):
        return None
    try:
        since = datetime.fromisoformat(data["since"])
        seen = datetime.fromisoformat(data["seen"])
    except (KeyError, TypeError, ValueError):
        return None
    at = now()
    if at - seen > IDLE or at - since > LONGEST:
        session.clear()
        return None
    return data


def signed_in() -> Staff | None:
    """The staff member signed in now (both steps), or None; counts as activity."""
    data = _fresh()
    if not data or data.get("step") != "in":
        return None
    staff = staff_by_id(store(), int(data["uid"]))
    if staff is None:  # disabled or removed meanwhile
        session.clear()
        return None
    data = dict(data)
    data["seen"] = now().isoformat()
    session[KEY] = data
    return staff


def may(staff: Staff, area: str) -> bool:
    """Whether `staff` may open `area`."""
    return staff.role in AREAS[area]


def areas_of(staff: Staff) -> list[str]:
    """The areas `staff` may open, in the navigation's order."""
    return [area for area, roles in AREAS.items() if staff.role in roles]


def role_names() -> dict[str, str]:
    """The roles as the pages name them."""
    return {
        "admin": _("Administrator"),
        "supervisor": _("Supervisor"),
        "it": _("IT"),
        "clerk": _("Clerk"),
    }


def no_access(staff: Staff) -> ResponseReturnValue:
    """403 for a page of another role's area: not an error, but which role the person has and
    the page they can use (a clerk's own day, everyone else's overview)."""
    start = "admin.my_day" if may(staff, "own_day") else "admin.home"
    page = render_template(
        "admin/no_access.html",
        lang=current_language(),
        staff=staff,
        areas=areas_of(staff),
        role=role_names().get(staff.role, staff.role),
        start=start,
    )
    return page, 403


def _challenge(realm: str) -> Response:
    answer = Response(
        _("Sign in with an administrator's account.") + "\n", status=401, mimetype="text/plain"
    )
    answer.headers["WWW-Authenticate"] = f'Basic realm="{realm}", charset="UTF-8"'
    return answer


def require(area: str, basic_realm: str | None = None) -> Callable[[F], F]:
    """A page of `area`: sign-in first (then back here), the no-access page (403) for a role
    without it. With `basic_realm`, a request that sends HTTP Basic credentials (a script) is
    let in by those of an account whose role opens `area` and refused with 401 otherwise;
    a browser is never asked for them (it signs in here)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            staff = signed_in()
            if staff is not None and may(staff, area):
                g.staff = staff  # for the navigation of pages outside the admin blueprint
                return view(staff, *args, **kwargs)
            auth = request.authorization
            if basic_realm is not None and auth is not None:
                checked = None
                if auth.type == "basic" and auth.username and auth.password is not None:
                    checked = verify_staff(store(), auth.username, auth.password, AREAS[area])
                if checked is None:
                    return _challenge(basic_realm)
                g.staff = checked
                return view(checked, *args, **kwargs)
            if staff is None:
                return redirect(url_for("admin.sign_in", next=request.full_path.rstrip("?")))
            return no_access(staff)

        return cast(F, guarded)

    return decorate


def navigation() -> dict[str, object]:
    """The admin layout's navigation for a page outside the admin blueprint (fleet, cash
    office) that a signed-in person opened: a context processor of those blueprints."""
    staff = g.get("staff")
    return {"staff": staff, "areas": areas_of(staff)} if staff is not None else {}


def actor(staff: Staff) -> str:
    """How the audit log names a change made on the pages."""
    return f"web:{staff.username}"

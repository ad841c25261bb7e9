"""Signing in to the admin area: name and password, then the code of an authenticator app (set
up at the first sign-in, shown as a QR code); sign out. Failures count towards the account's
lockout (hub.operations.staff); the form posts are rate-limited per address as well."""

from __future__ import annotations

import segno
from flask import current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

import hub.web.admin.session as admin_session
from hub.booking.timezone import to_local_iso
from hub.context import now, store
from hub.i18n import current_language
from hub.notify.sealing import Sealer
from hub.operations.staff import (
    SignInRefused,
    check_password,
    check_totp,
    new_totp_secret,
    provisioning_uri,
    set_up_totp,
    staff_by_id,
)
from hub.ratelimit import limiter, write_limit
from hub.web.admin.blueprint import bp

NEW_SECRET = "admin_totp_new"  # the secret shown while it is being set up (the person's own)
# The pages that send a browser here to sign in, and so may be gone back to afterwards.
RETURNS = ("/admin", "/it/devices", "/office/payments")


def _sealer() -> Sealer:
    return Sealer(current_app.config["SECRET_KEY"])


def _next() -> str:
    """Where to go after signing in: a page that takes this sign-in, nothing else."""
    target = request.values.get("next", "")
    if target.startswith(RETURNS) and "\\" not in target:
        return target
    return url_for("admin.home")


def _page(template: str, status: int = 200, /, **values: object) -> ResponseReturnValue:
    return render_template(template, lang=current_language(), next=_next(), **values), status


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(write_limit, methods=["POST"])
def sign_in() -> ResponseReturnValue:
    """Step one: name and password."""
    if request.method == "GET":
        return _page("admin/sign_in.html")
    username = request.form.get("username", "")[:64]
    try:
        checked = check_password(store(), username, request.form.get("password", ""), now())
    except SignInRefused as refused:
        if refused.reason == "locked" and refused.until is not None:
            error = _(
                "Too many failed attempts: this account is locked until %(time)s.",
                time=to_local_iso(refused.until)[11:16],  # the office's time, as on the clock
            )
            return _page("admin/sign_in.html", 423, error=error, username=username)
        if refused.reason == "not_staff":
            error = _("This account has no access to the admin area.")
            return _page("admin/sign_in.html", 403, error=error, username=username)
        error = _("The name or the password is wrong.")
        return _page("admin/sign_in.html", 401, error=error, username=username)
    step = "totp" if checked.has_totp else "setup"
    admin_session.begin(checked.staff.id, step)
    target = "admin.second_factor" if checked.has_totp else "admin.set_up_second_factor"
    return redirect(url_for(target, next=_next()))


@bp.route("/second-factor", methods=["GET", "POST"])
@limiter.limit(write_limit, methods=["POST"])
def second_factor() -> ResponseReturnValue:
    """Step two: the six digits of the authenticator app."""
    user_id = admin_session.pending("totp")
    if user_id is None:
        return redirect(url_for("admin.sign_in", next=_next()))
    if request.method == "GET":
        return _page("admin/second_factor.html")
    if not check_totp(store(), _sealer(), user_id, request.form.get("code", "")[:12], now()):
        admin_session.end()  # from the start: a wrong code is a failed sign-in
        error = _("The code is wrong or was used already. Please sign in again.")
        return _page("admin/sign_in.html", 401, error=error)
    admin_session.advance("in")
    return redirect(_next())


@bp.route("/second-factor/set-up", methods=["GET", "POST"])
@limiter.limit(write_limit, methods=["POST"])
def set_up_second_factor() -> ResponseReturnValue:
    """First sign-in (or after a reset): the app learns a new secret, then proves it."""
    user_id = admin_session.pending("setup")
    staff = staff_by_id(store(), user_id) if user_id is not None else None
    if user_id is None or staff is None:
        return redirect(url_for("admin.sign_in", next=_next()))
    secret = session.get(NEW_SECRET)
    if not isinstance(secret, str) or request.method == "GET":
        secret = new_totp_secret()
        session[NEW_SECRET] = secret
    uri = provisioning_uri(secret, staff.username)
    values: dict[str, object] = {
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "qr": segno.make(uri, error="m").svg_data_uri(scale=5, dark="#000", light="#fff"),
    }
    if request.method == "GET":
        return _page("admin/set_up_second_factor.html", **values)
    code = request.form.get("code", "")[:12]
    if not set_up_totp(
        store(), admin_session.actor(staff), _sealer(), user_id, secret, code, now()
    ):
        error = _("The code does not match. Check the app's time and enter the newest code.")
        return _page("admin/set_up_second_factor.html", 422, error=error, **values)
    session.pop(NEW_SECRET, None)
    admin_session.advance("in")
    return redirect(_next())


@bp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    """End the session."""
    admin_session.end()
    return redirect(url_for("admin.sign_in"))

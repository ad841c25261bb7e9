"""Signing in to the admin area (/admin): password then TOTP (set up at the first sign-in),
codes used once, lockout after 5 failures, sessions that run out, roles that open only their
part, CSRF on every form, and every change in the audit list. The hub in-process on the test
database with a clock the test moves (TOTP codes follow it)."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest

from hub import create_app
from hub.operations.accounts import add_user
from hub.operations.audit import entries
from hub.operations.staff import MAX_FAILURES, list_staff
from hub.store import Store
from tests.support.environment import BERLIN, MONDAY_EARLY
from tests.support.forms import page_token
from tests.support.hub import make_settings

PASSWORD = "admin-passwort-1"
SECRET = re.compile(r'<code class="totp-key">([A-Z2-7 ]+)</code>')


class Clock:
    def __init__(self) -> None:
        self.at = MONDAY_EARLY

    def __call__(self):
        return self.at

    def code(self, secret: str, steps_ahead: int = 0) -> str:
        return pyotp.TOTP(secret).at(self.at + timedelta(seconds=30 * steps_ahead))


@pytest.fixture
def desk(store: Store, tmp_path):
    clock = Clock()
    app = create_app(
        make_settings(tmp_path, database_url=store.url), clock=clock, store=store, TESTING=True
    )
    add_user(store, "chefin", PASSWORD, "admin", MONDAY_EARLY, "Frau Chefin")
    add_user(store, "technik", PASSWORD, "it", MONDAY_EARLY)
    add_user(store, "schalter", PASSWORD, "clerk", MONDAY_EARLY)
    return app.test_client(), clock


def post(client, path: str, page: str, **form: str):
    return client.post(path, data={"csrf_token": page_token(page), **form})


def password_step(client, username: str, password: str = PASSWORD):
    page = client.get("/admin/sign-in?lang=de").data.decode()
    return post(client, "/admin/sign-in", page, username=username, password=password)


def first_sign_in(client, clock: Clock, username: str) -> str:
    """Password, then the app set up: the secret the page showed."""
    answer = password_step(client, username)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/admin/second-factor/set-up")
    page = client.get(answer.headers["Location"]).data.decode()
    secret = SECRET.search(page).group(1).replace(" ", "")
    assert 'src="data:image/svg+xml;charset=utf-8,%3Csvg%20xmlns' in page  # the QR code, inline
    done = post(client, "/admin/second-factor/set-up", page, code=clock.code(secret))
    assert done.status_code == 302 and done.headers["Location"] == "/admin/"
    return secret


def test_the_first_sign_in_sets_up_the_app_and_later_ones_ask_for_its_code(desk):
    client, clock = desk
    assert client.get("/admin/people").headers["Location"].startswith("/admin/sign-in?next=")
    secret = first_sign_in(client, clock, "chefin")
    home = client.get("/admin/?lang=de").data.decode()
    assert "Angemeldet als Frau Chefin" in home and "Personen" in home

    page = client.get("/admin/").data.decode()
    assert post(client, "/admin/sign-out", page).status_code == 302
    assert client.get("/admin/people").status_code == 302  # signed out

    answer = password_step(client, "chefin")
    assert answer.headers["Location"].startswith("/admin/second-factor?")
    page = client.get("/admin/second-factor").data.decode()
    used = post(client, "/admin/second-factor", page, code=clock.code(secret))  # replayed
    assert used.status_code == 401
    assert "Der Code ist falsch oder wurde schon verwendet" in used.data.decode()
    assert client.get("/admin/people").status_code == 302  # a wrong code ends the sign-in

    clock.at += timedelta(seconds=30)
    password_step(client, "chefin")
    page = client.get("/admin/second-factor").data.decode()
    signed = post(client, "/admin/second-factor?next=/admin/people", page, code=clock.code(secret))
    assert signed.headers["Location"] == "/admin/people"
    assert client.get("/admin/people").status_code == 200
    (entry,) = entries(client.application.extensions["store"])[0]
    assert (entry.action, entry.actor, entry.target) == (
        "staff.totp_set",
        "web:chefin",
        "user:chefin",
    )


def test_a_wrong_password_counts_and_the_fifth_locks_the_account(desk, store):
    client, clock = desk
    for _ in range(MAX_FAILURES - 1):
        wrong = password_step(client, "chefin", "falsch-falsch")
        assert wrong.status_code == 401
        assert "Name oder Passwort ist falsch." in wrong.data.decode()
    assert password_step(client, "niemand", "falsch-falsch").status_code == 401  # same answer
    locked = password_step(client, "chefin", "falsch-falsch")
    assert locked.status_code == 401
    refused = password_step(client, "chefin")  # even the right password now
    assert refused.status_code == 423
    until = (clock.at + timedelta(minutes=15)).astimezone(BERLIN).strftime("%H:%M")
    assert f"Dieses Konto ist bis {until} Uhr gesperrt." in refused.data.decode()
    clock.at += timedelta(minutes=16)
    assert password_step(client, "chefin").status_code == 302
    assert [e.action for e in entries(store)[0]] == ["staff.locked"]


def test_a_session_runs_out_after_30_idle_minutes(desk):
    client, clock = desk
    first_sign_in(client, clock, "chefin")
    clock.at += timedelta(minutes=29)
    assert client.get("/admin/people").status_code == 200
    clock.at += timedelta(minutes=29)  # 29 after the last use: still in
    assert client.get("/admin/people").status_code == 200
    clock.at += timedelta(minutes=31)
    assert client.get("/admin/people").headers["Location"].startswith("/admin/sign-in")


def test_roles_open_only_their_part_and_a_clerk_only_their_own_day(desk):
    client, clock = desk
    first_sign_in(client, clock, "technik")
    assert client.get("/admin/people").status_code == 403
    assert client.get("/it/devices").status_code == 200  # IT's fleet pages, by the session
    assert client.get("/office/payments").status_code == 403  # the cash office is not IT's
    home = client.get("/admin/?lang=de").data.decode()
    assert "Schaltergeräte" in home and "Personen" not in home
    other = client.application.test_client()
    first_sign_in(other, clock, "schalter")  # the same steps; see test_admin_my_day.py
    assert other.get("/admin/").headers["Location"] == "/admin/my-day"
    assert other.get("/admin/people").status_code == 403
    assert other.get("/admin/my-day").status_code == 200
    assert client.get("/admin/my-day").status_code == 403  # a clerk's page: not IT's


def test_an_admin_makes_disables_and_resets_accounts_and_it_is_audited(desk, store):
    client, clock = desk
    first_sign_in(client, clock, "chefin")
    page = client.get("/admin/people?lang=de").data.decode()
    made = post(
        client, "/admin/people", page, username="M.Mueller", password="erstes-pw-1",
        role="clerk", display_name="Max Müller",
    )  # fmt: skip
    assert made.status_code == 302
    new = next(p for p in list_staff(store) if p.username == "m.mueller")
    assert (new.role, new.display_name, new.active) == ("clerk", "Max Müller", True)

    page = client.get("/admin/people").data.decode()
    taken = post(client, "/admin/people", page, username="m.mueller", password="x" * 9, role="it")
    assert taken.status_code == 422 and "Dieser Name ist schon vergeben." in taken.data.decode()
    short = post(client, "/admin/people", page, username="neu", password="kurz", role="it")
    assert short.status_code == 422 and "mindestens 8 Zeichen" in short.data.decode()
    role = post(client, "/admin/people", page, username="neu", password="x" * 9, role="root")
    assert role.status_code == 422 and "Wählen Sie eine Rolle." in role.data.decode()
    assert len(list_staff(store)) == 4  # none of those was stored

    assert post(client, f"/admin/people/{new.id}/active", page, active="0").status_code == 302
    assert not next(p for p in list_staff(store) if p.id == new.id).active
    own = next(p for p in list_staff(store) if p.username == "chefin")
    selfish = post(client, f"/admin/people/{own.id}/active", page, active="0")
    assert selfish.status_code == 422
    assert (
        post(client, f"/admin/people/{new.id}/password", page, password="neu-pw-12").status_code
        == 302
    )
    assert post(client, "/admin/people/abc/password", page, password="neu-pw-12").status_code == 404

    audit = client.get("/admin/audit?lang=de").data.decode()
    for action in ("staff.create", "staff.disable", "staff.reset", "staff.totp_set"):
        assert action in audit
    assert "web:chefin" in audit and "user:m.mueller" in audit
    listed = [e for e in entries(store)[0] if e.action == "staff.disable"]
    assert (listed[0].before, listed[0].after) == ({"active": True}, {"active": False})


def test_a_form_without_its_token_changes_nothing(desk, store):
    client, clock = desk
    first_sign_in(client, clock, "chefin")
    answer = client.post(
        "/admin/people", data={"username": "x1", "password": "y" * 9, "role": "it"}
    )
    assert answer.status_code == 400
    assert all(p.username != "x1" for p in list_staff(store))
    anonymous = client.application.test_client()
    assert anonymous.post("/admin/sign-in", data={"username": "chefin"}).status_code == 400


def test_a_disabled_account_is_signed_out_at_its_next_request(desk, store):
    client, clock = desk
    first_sign_in(client, clock, "technik")
    admin = client.application.test_client()
    first_sign_in(admin, clock, "chefin")
    technik = next(p for p in list_staff(store) if p.username == "technik")
    page = admin.get("/admin/people").data.decode()
    post(admin, f"/admin/people/{technik.id}/active", page, active="0")
    assert client.get("/it/devices").headers["Location"] == "/admin/sign-in?next=/it/devices"
    assert client.get("/admin/").headers["Location"].startswith("/admin/sign-in")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/pay/x"])
def test_after_signing_in_only_admin_pages_are_followed(desk, target):
    client, clock = desk
    first_sign_in(client, clock, "chefin")
    clock.at += timedelta(seconds=30)
    page = client.get("/admin/").data.decode()
    post(client, "/admin/sign-out", page)
    page = client.get("/admin/sign-in").data.decode()
    answer = post(client, "/admin/sign-in", page, username="chefin", password=PASSWORD, next=target)
    assert answer.headers["Location"] == "/admin/second-factor?next=/admin/"

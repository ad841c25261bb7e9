"""Roles in the admin area (issue 18's rough edges): a page of another role's area says so
plainly (403, "Kein Zugriff", the role, the person's own page); the fleet pages and the cash
office take the admin sign-in (its sign-in without a session, the same 403 page for another
role) while scripts keep HTTP Basic; an administrator changes a role on the people page,
audited, but never the last administrator's. The hub in-process, as in test_admin_sign_in."""

from __future__ import annotations

import re

from hub.operations.accounts import add_user
from hub.operations.audit import entries
from hub.operations.staff import list_staff
from tests.integration.test_admin_sign_in import (
    PASSWORD,
    SECRET,
    desk,  # noqa: F401 - the fixture
    first_sign_in,
    post,
)
from tests.support.environment import MONDAY_EARLY


def _nav(page: str) -> list[str]:
    """The hrefs of the admin navigation."""
    nav = page.split('<nav class="admin-nav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<li><a href="([^"]+)"', nav)


def _id(store, username: str) -> int:
    return next(p.id for p in list_staff(store) if p.username == username)


def test_a_page_of_another_role_says_so_and_leads_to_the_own_page(desk):  # noqa: F811
    client, clock = desk
    first_sign_in(client, clock, "schalter")  # a clerk
    refused = client.get("/admin/services?lang=de")
    assert refused.status_code == 403
    page = refused.data.decode()
    assert "<h1>Kein Zugriff</h1>" in page and "Etwas ist schiefgegangen" not in page
    assert "mit der Rolle Sachbearbeitung angemeldet" in page
    assert 'href="/admin/my-day">Zu Ihrer Seite: Mein Tag</a>' in page
    assert _nav(page) == ["/admin/my-day"]  # and the clerk's navigation, nothing more

    it = client.application.test_client()
    first_sign_in(it, clock, "technik")
    page = it.get("/admin/people?lang=en").data.decode()
    assert "<h1>No access</h1>" in page and "with the role IT" in page
    assert 'href="/admin/">To your page: Overview</a>' in page
    posted = post(it, "/admin/people", it.get("/admin/audit").data.decode(), username="x1")
    assert posted.status_code == 403 and "No access" in posted.data.decode()  # English kept


def test_the_fleet_pages_and_the_cash_office_take_the_sign_in(desk, store):  # noqa: F811
    client, clock = desk
    add_user(store, "leitung", PASSWORD, "supervisor", MONDAY_EARLY)
    for path in ("/it/devices", "/it/devices/1", "/office/payments", "/office/payments.csv"):
        answer = client.get(path)
        assert answer.status_code == 302, path  # to the sign-in, never a browser's prompt
        assert "WWW-Authenticate" not in answer.headers
        assert answer.headers["Location"] == f"/admin/sign-in?next={path}"

    # Signing in from there leads back to the page.
    page = client.get("/admin/sign-in?next=/it/devices").data.decode()
    step = post(client, "/admin/sign-in", page, username="technik", password=PASSWORD,
                next="/it/devices")  # fmt: skip
    assert step.headers["Location"] == "/admin/second-factor/set-up?next=/it/devices"
    page = client.get(step.headers["Location"]).data.decode()
    secret = SECRET.search(page).group(1).replace(" ", "")
    done = post(client, "/admin/second-factor/set-up?next=/it/devices", page,
                code=clock.code(secret))  # fmt: skip
    assert done.headers["Location"] == "/it/devices"
    assert client.get("/it/devices").status_code == 200
    cash = client.get("/office/payments?lang=de")  # not IT's: the page says so
    assert cash.status_code == 403 and "Kein Zugriff" in cash.data.decode()
    assert "WWW-Authenticate" not in cash.headers
    assert "/it/devices" in _nav(client.get("/admin/").data.decode())

    supervisor = client.application.test_client()
    first_sign_in(supervisor, clock, "leitung")
    for path in ("/it/devices", "/office/payments"):
        answer = supervisor.get(f"{path}?lang=de")
        assert answer.status_code == 403, path
        assert "mit der Rolle Leitung angemeldet" in answer.data.decode()
    nav = _nav(supervisor.get("/admin/").data.decode())
    assert "/it/devices" not in nav and "/office/payments" not in nav

    admin = client.application.test_client()
    first_sign_in(admin, clock, "chefin")
    home = admin.get("/admin/?lang=de").data.decode()
    assert {"/it/devices", "/office/payments"} <= set(_nav(home))
    assert ">Kasse</a>" in home
    assert admin.get("/office/payments").status_code == 200
    assert admin.get("/it/devices").status_code == 200

    # Scripts: HTTP Basic as before, by whoever sends it.
    script = client.application.test_client()
    assert script.get("/it/devices", auth=("technik", PASSWORD)).status_code == 200
    assert script.get("/office/payments.csv", auth=("chefin", PASSWORD)).status_code == 200
    for auth in (("technik", "wrong-password"), ("leitung", PASSWORD)):
        refused = script.get("/it/devices", auth=auth)
        assert refused.status_code == 401 and "Basic" in refused.headers["WWW-Authenticate"]


def test_an_administrator_changes_a_role_but_not_the_last_administrators(desk, store):  # noqa: F811
    client, clock = desk
    it = client.application.test_client()
    first_sign_in(it, clock, "technik")
    assert it.get("/admin/services").status_code == 403
    first_sign_in(client, clock, "chefin")
    page = client.get("/admin/people?lang=de").data.decode()
    assert '<label class="visually-hidden" for="role-' in page and "Rolle ändern" in page

    technik = _id(store, "technik")
    changed = post(client, f"/admin/people/{technik}/role", page, role="supervisor")
    assert changed.status_code == 302
    told = client.get("/admin/people?lang=de").data.decode()
    assert "technik hat jetzt die Rolle Leitung." in told
    assert it.get("/admin/services").status_code == 200  # at the person's next click
    assert it.get("/it/devices").status_code == 403
    (entry,) = entries(store, action="staff.role")[0]
    assert (entry.actor, entry.target) == ("web:chefin", "user:technik")
    assert (entry.before, entry.after) == ({"role": "it"}, {"role": "supervisor"})

    own = _id(store, "chefin")
    last = post(client, f"/admin/people/{own}/role", page, role="clerk")
    assert last.status_code == 422
    assert "letzte aktive Administrationskonto" in last.data.decode()
    assert post(client, f"/admin/people/{technik}/role", page, role="root").status_code == 422
    assert post(client, "/admin/people/99999/role", page, role="it").status_code == 404
    its_page = it.get("/admin/services").data.decode()  # its own form token
    supervisor = post(it, f"/admin/people/{own}/role", its_page, role="clerk")
    assert supervisor.status_code == 403
    assert next(p.role for p in list_staff(store) if p.id == own) == "admin"
    assert len(entries(store, action="staff.role")[0]) == 1  # none of those was stored

    # With a second (active) administrator, one may hand the role on.
    post(client, f"/admin/people/{technik}/role", page, role="admin")
    assert post(client, f"/admin/people/{own}/role", page, role="supervisor").status_code == 302
    assert client.get("/admin/people").status_code == 403  # at once

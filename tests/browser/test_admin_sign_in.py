"""The admin area's sign-in in Chromium, by keyboard alone: password, the authenticator app set
up from the page (the key read off the page, codes made with pyotp as a phone app would), the
start page, the people page (a clerk made, then given another role; the page fits the screen,
the tablet's too) and the audit list; axe-core in German and English, on a desk screen and a
tablet. The hub runs on its real clock here: TOTP codes are made for the present."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from hub.operations.accounts import add_user
from tests.support.environment import MONDAY_EARLY

PASSWORD = "admin-passwort-1"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, {"width": 820, "height": 1180}]
)
def test_an_admin_signs_in_by_keyboard_sets_up_the_app_and_makes_a_clerk(
    store, serve_hub, browser, check, viewport
):
    add_user(store, "chefin", PASSWORD, "admin", MONDAY_EARLY, "Frau Chefin")
    hub = serve_hub(store.url)
    context = browser.new_context(viewport=viewport, locale="de-DE")
    page = context.new_page()
    try:
        page.goto(f"{hub.url}/admin/people")
        assert page.url.startswith(f"{hub.url}/admin/sign-in?next=")
        assert page.locator("html").get_attribute("lang") == "de"
        check.accessible(page)
        check.shot(page, "sign-in-de")
        page.keyboard.type("chefin")  # the name field has the focus
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")

        page.wait_for_url("**/admin/second-factor/set-up**")
        qr = page.get_by_role("img", name="QR-Code mit dem Schlüssel")
        assert qr.evaluate("image => image.complete && image.naturalWidth > 100")  # it shows
        check.accessible(page)
        check.shot(page, "set-up-de")
        secret = page.locator("code.totp-key").inner_text().replace(" ", "")
        assert re.fullmatch(r"[A-Z2-7]{32}", secret)
        used = pyotp.TOTP(secret).now()
        page.get_by_label("Code aus Ihrer Authenticator-App").fill(used)
        page.keyboard.press("Enter")

        page.wait_for_url(re.compile(r"^http://[^/]+/admin/people$"))
        assert page.get_by_role("heading", name="Personen").is_visible()
        page.get_by_label("Anmeldename").fill("m.mueller")
        page.get_by_label("Angezeigter Name (optional)").fill("Max Müller")
        page.get_by_label("Rolle", exact=True).select_option(label="Sachbearbeitung")
        page.get_by_label("Erstes Passwort").fill("erstes-pw-1")
        page.get_by_role("button", name="Konto anlegen").click()
        assert page.get_by_role("status").inner_text() == "Konto m.mueller angelegt."
        assert page.get_by_role("row", name=re.compile("m.mueller")).is_visible()
        page.get_by_label("Rolle von m.mueller").select_option(label="Leitung")
        page.get_by_role("button", name="Rolle ändern für m.mueller").click()
        assert page.get_by_role("status").inner_text() == "m.mueller hat jetzt die Rolle Leitung."
        assert page.get_by_label("Rolle von m.mueller").input_value() == "supervisor"
        # Nothing sideways: neither the page nor the table scrolls (its columns wrap instead).
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
            " ...[...document.querySelectorAll('.table-scroll')].flatMap("
            "e => [e.scrollWidth, e.clientWidth])]"
        )
        check.shot(page, "people-de")
        assert widths[0] <= widths[1] and widths[2] <= widths[3], widths
        check.accessible(page)

        page.get_by_role("link", name="Änderungen").click()
        rows = page.locator("table tbody tr")
        assert rows.count() == 3  # the new account, its role and the second factor set up
        assert "staff.role" in rows.nth(0).inner_text()
        assert "staff.create" in rows.nth(1).inner_text()
        check.accessible(page)

        page.get_by_role("link", name="English").click()
        page.wait_for_url("**lang=en")
        assert page.get_by_role("heading", name="Changes").is_visible()
        check.accessible(page)
        check.shot(page, "audit-en")

        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/admin/sign-in")
        page.goto(f"{hub.url}/admin/people")
        assert "/admin/sign-in" in page.url  # signed out for good

        # Signing in again asks for the code; the one that set the app up is refused (made anew
        # here it would be a fresh code once the 30 s step has turned over meanwhile).
        page.get_by_label("Name").fill("chefin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url("**/admin/second-factor**")
        check.accessible(page)
        page.get_by_label("Code from your authenticator app").fill(used)
        page.get_by_role("button", name="Sign in").click()
        assert page.get_by_role("alert").inner_text().startswith("The code is wrong or was used")
        page.get_by_label("Name").fill("chefin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url("**/admin/second-factor**")
        ahead = pyotp.TOTP(secret).at(time.time() + 30)
        page.get_by_label("Code from your authenticator app").fill(ahead)
        page.get_by_role("button", name="Sign in").click()
        # Back where the sign-in began: the page asked for before it.
        page.wait_for_url(re.compile(r"^http://[^/]+/admin/people$"))
        assert page.get_by_role("heading", name="People").is_visible()
    finally:
        context.close()

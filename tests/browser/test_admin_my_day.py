"""A clerk made on the admin pages works at a counter (issue 18, "An admin creates a clerk, who
then signs in at an appliance"), in Chromium: the admin creates the account on the people page;
the clerk signs in at a counter appliance's screen (a real appliance daemon with synthetic
devices and its kiosk page) and is shown there by name; then signs in to the admin area (password,
authenticator app) and lands on "Mein Tag": that counter's appointments with the citizens' names,
a day chosen by keyboard, nothing else of the admin area. Disabled by the admin, the clerk is
refused at the counter. axe-core on the own-day page in German and English, at 1280 px and on a
tablet. The served hub's clock starts at MONDAY_EARLY (a Monday, 07:00 in Berlin) and runs on."""

from __future__ import annotations

import re

import pytest

from hub.operations.accounts import add_user
from tests.browser.test_admin_office import focus_by_tab, no_sideways_scroll
from tests.browser.test_kiosk import PIN, kiosk_page, on_screen
from tests.support.admin_pages import DESK, TABLET, HubTime, first_sign_in
from tests.support.appliance_runner import RunningAppliance
from tests.support.environment import MONDAY_EARLY, berlin
from tests.support.realtime_clients import make_desk

pytestmark = pytest.mark.browser

PASSWORD = "chefin-pw-1"
CLERK_PASSWORD = "erstes-pw-1"


@pytest.fixture
def counter(sqlite_store, serve_hub):
    """A served hub with an administrator and two 09:00 appointments (one at each counter), and
    the first one's counter's appliance with its kiosk page; (hub, clock, appliance, bookings)."""
    store = sqlite_store
    clock = HubTime()
    desk = make_desk(store, MONDAY_EARLY)  # an appliance's credential for each counter
    add_user(store, "chefin", PASSWORD, "admin", MONDAY_EARLY, "Frau Chefin")
    here, there = (desk.book(berlin(2026, 3, 2, 9, 0), n=n) for n in (0, 1))
    assert here.counter != there.counter
    hub = serve_hub(
        store.url,
        clock_start=MONDAY_EARLY.isoformat(),
        rate_limit_enabled="false",
        secret_key="my-day-browser-test",
    )
    appliance = RunningAppliance(
        kiosk=True,
        hub_url=hub.url,
        device_credential=desk.credentials[here.counter],
        scanner="synthetic",
    ).start()
    yield hub, clock, appliance, (here, there)
    appliance.stop()


def kiosk_sign_in(page, username: str, password: str) -> None:
    on_screen(page, "sign_in")
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(password)
    page.get_by_label("Schnell-PIN (4 bis 8 Ziffern)").fill(PIN)
    page.get_by_role("button", name="Anmelden").click()


def test_a_clerk_made_on_the_page_signs_in_at_the_counter_and_sees_their_day(
    counter, browser, check
):
    hub, clock, appliance, _ = counter
    admin = browser.new_context(viewport=DESK, locale="de-DE")
    kiosk, screen = kiosk_page(browser, appliance, "1280x800")
    clerk = browser.new_context(viewport=DESK, locale="de-DE")
    try:
        # The administrator creates the clerk's account.
        people = admin.new_page()
        first_sign_in(people, hub.url, "/admin/people", "chefin", PASSWORD, clock)
        people.get_by_label("Anmeldename").fill("m.mueller")
        people.get_by_label("Angezeigter Name (optional)").fill("Max Müller")
        people.get_by_label("Rolle", exact=True).select_option(label="Sachbearbeitung")
        people.get_by_label("Erstes Passwort").fill(CLERK_PASSWORD)
        people.get_by_role("button", name="Konto anlegen").click()
        assert people.get_by_role("status").inner_text() == "Konto m.mueller angelegt."

        # The clerk signs in at the counter's screen and is shown there by name.
        kiosk_sign_in(screen, "m.mueller", CLERK_PASSWORD)
        on_screen(screen, "day")
        assert screen.locator("#clerk-name").inner_text() == "· Max Müller"
        screen.locator("#day li", has_text="09:00").wait_for()  # the counter's day arrives
        assert screen.locator("#day li").count() == 1

        # ... and in the admin area lands on their own day: this counter's appointment.
        day = clerk.new_page()
        first_sign_in(day, hub.url, "/admin/my-day", "m.mueller", CLERK_PASSWORD, clock)
        assert day.get_by_role("heading", name="Mein Tag", level=1).is_visible()
        nav = day.get_by_role("navigation", name="Verwaltung")
        assert nav.get_by_role("link").all_inner_texts() == ["Mein Tag"]
        assert day.get_by_role("link", name="Mein Tag").get_attribute("aria-current") == "page"
        assert day.get_by_role("heading", name="Termine am Montag, 2. März 2026").is_visible()
        rows = day.locator("table tbody tr")
        assert rows.count() == 1
        assert re.fullmatch(r"09:00\s*–\s*09:10", rows.locator("td").nth(0).inner_text())
        assert rows.locator("td").nth(3).inner_text() == "Person 0"
        assert rows.locator("td").nth(4).inner_text() == "gebucht"
        text = day.locator("main").inner_text()
        assert "Person 1" not in text and "@example.org" not in text
        assert "in den letzten 30 Tagen angemeldet haben" in text
        assert day.locator(".totals").inner_text().split() == [
            "Beendete", "Gespräche", "0", "Gesprächszeit", "insgesamt", "0", "Min.",
        ]  # fmt: skip
        check.accessible(day)
        check.shot(day, "my-day-de")

        # Another day by keyboard alone: Tab to the date, type it, Tab to the button, Enter.
        focus_by_tab(day, "#day")
        day.keyboard.type("03032026")  # 3 March, whichever order the field puts day and month
        day.keyboard.press("Tab")  # past the field's own parts to the button
        while day.evaluate("document.activeElement.tagName") != "BUTTON":
            day.keyboard.press("Tab")
        day.keyboard.press("Enter")
        day.wait_for_url("**/admin/my-day?day=2026-03-03")
        assert day.get_by_role("heading", name="Termine am Dienstag, 3. März 2026").is_visible()
        assert day.get_by_text("An diesem Tag gibt es keine Termine.").is_visible()
        assert day.get_by_role("heading", name="Ihre Gespräche").count() == 0  # not yet
        check.accessible(day)

        day.get_by_role("link", name="English").click()
        day.wait_for_url("**lang=en")
        assert day.get_by_role("heading", name="My day", level=1).is_visible()
        assert day.get_by_text("No appointments on this day.").is_visible()
        day.goto(f"{hub.url}/admin/my-day?lang=en")
        assert day.locator("table tbody tr td").nth(4).inner_text() == "booked"
        check.accessible(day)
        check.shot(day, "my-day-en")

        day.set_viewport_size(TABLET)
        day.goto(f"{hub.url}/admin/my-day?lang=de")
        no_sideways_scroll(day)
        check.accessible(day)
        check.shot(day, "my-day-tablet-de")

        # Nothing else of the admin area opens for a clerk.
        for path in ("/admin/people", "/admin/services", "/admin/appointments", "/admin/audit"):
            assert day.goto(f"{hub.url}{path}").status == 403, path

        # Disabled by the administrator, the clerk is refused at the counter.
        screen.get_by_role("button", name="Abmelden").click()
        people.goto(f"{hub.url}/admin/people")
        people.get_by_role("button", name="Sperren m.mueller").click()
        assert people.get_by_role("status").inner_text() == "Konto gesperrt."
        kiosk_sign_in(screen, "m.mueller", CLERK_PASSWORD)
        alert = screen.get_by_role("alert")
        alert.wait_for()
        assert alert.inner_text() == "Benutzername oder Passwort ist falsch."
        assert screen.evaluate("document.body.dataset.screen") == "sign_in"
        day.goto(f"{hub.url}/admin/my-day")  # and out of the admin area at the next click
        assert "/admin/sign-in" in day.url
    finally:
        clerk.close()
        kiosk.close()
        admin.close()

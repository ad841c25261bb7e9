"""A supervisor edits the catalogue from the admin pages in Chromium (issue 18): the services
list, one service's settings (checklist line added, offered at one counter only, by keyboard:
Enter in a field sends the form) which the citizens' start page then shows, a fee item refused
for its umlaut and then saved, and the public holidays page where Good Friday is worked. An IT
account cannot open these pages. axe-core in German and English on each page, at 1280 px and
on a tablet; screenshots.

The served hub's clock starts at MONDAY_EARLY (Monday 2 March 2026, 07:00 in Berlin)."""

from __future__ import annotations

import re
import shutil

import pytest

from hub.operations.accounts import add_user
from hub.operations.audit import entries
from hub.operations.fees import list_fee_items
from hub.store import Store
from hub.store.seed import seed_defaults
from tests.support.admin_pages import DESK, TABLET, HubTime, first_sign_in
from tests.support.environment import MONDAY_EARLY

pytestmark = pytest.mark.browser

PASSWORD = "leitung-pw-1"


@pytest.fixture
def catalogue(sqlite_template, tmp_path, serve_hub):
    """A served hub on a seeded SQLite file with a supervisor and an IT account."""
    path = tmp_path / "catalogue.sqlite3"
    shutil.copy(sqlite_template, path)
    store = Store(f"sqlite:///{path}", catalogue_ttl=0)
    with store.transaction() as session:
        seed_defaults(session, without_appliance=True)
    add_user(store, "leitung", PASSWORD, "supervisor", MONDAY_EARLY, "Frau Leitung")
    add_user(store, "technik", PASSWORD, "it", MONDAY_EARLY)
    hub = serve_hub(
        store.url,
        clock_start=MONDAY_EARLY.isoformat(),
        rate_limit_enabled="false",
        secret_key="catalogue-browser-test",
    )
    yield hub, store, HubTime()
    store.dispose()


@pytest.mark.parametrize("viewport", [DESK, TABLET], ids=["desk", "tablet"])
def test_a_supervisor_edits_a_service_its_fees_and_the_holidays(
    catalogue, browser, check, viewport
):
    hub, store, clock = catalogue
    context = browser.new_context(viewport=viewport, locale="de-DE")
    page = context.new_page()
    try:
        first_sign_in(page, hub.url, "/admin/services", "leitung", PASSWORD, clock)
        assert page.get_by_role("heading", name="Dienstleistungen").is_visible()
        row = page.get_by_role("row", name=re.compile("Führungszeugnis"))
        assert "10 Min." in row.inner_text() and "alle Schalter" in row.inner_text()
        check.accessible(page)
        check.shot(page, "services-de")

        page.get_by_role("link", name="Führungszeugnis", exact=True).click()
        page.wait_for_url("**/admin/services/fuehrungszeugnis")
        check.accessible(page)
        checklist = page.get_by_label("Checkliste auf Deutsch: bereitzuhaltende Unterlagen")
        checklist.press("Control+End")
        checklist.press("Enter")
        checklist.type("Bankkarte für die Gebühr")
        page.get_by_label("Nur die hier angekreuzten Schalter:").check()
        page.get_by_label("Schalter 2").check()
        page.get_by_label("Dauer in Minuten").fill("20")
        page.get_by_label("Dauer in Minuten").press("Enter")  # sends the form
        assert page.get_by_role("status").inner_text() == (
            "Dienstleistung Führungszeugnis gespeichert."
        )
        assert page.get_by_label("Schalter 2").is_checked()
        assert not page.get_by_label("Schalter 1").is_checked()
        change = entries(store, action="service.update")[0][0]
        assert change.actor == "web:leitung"
        assert change.after["counters"] == [2] and change.after["duration_minutes"] == 20

        # The fee form: an umlaut in the booking text is refused, the field marked.
        page.get_by_label("Kürzel").fill("zweitschrift")
        page.get_by_label("Betrag in Euro").fill("6,50")
        page.get_by_label("Bezeichnung auf Deutsch").fill("Zweitschrift")
        page.get_by_label("Buchungstext für die Bank").fill("Gebühr Zweitschrift")
        page.get_by_role("button", name="Gebühr speichern").click()
        assert page.get_by_role("alert").inner_text().startswith("Bitte korrigieren Sie")
        purpose = page.get_by_label("Buchungstext für die Bank")
        assert purpose.get_attribute("aria-invalid") == "true"
        assert purpose.input_value() == "Gebühr Zweitschrift"  # kept to correct
        check.accessible(page)
        purpose.fill("Gebuehr Zweitschrift")
        purpose.press("Enter")
        assert page.get_by_role("status").inner_text() == "Gebühr Zweitschrift gespeichert."
        assert page.get_by_role("row", name=re.compile("zweitschrift")).is_visible()
        codes = [i.code for i in list_fee_items(store, "fuehrungszeugnis")]
        assert codes == ["fuehrungszeugnis", "zweitschrift"]
        check.shot(page, "service-de")

        # What the citizen sees on the start page.
        citizen = context.new_page()
        citizen.goto(f"{hub.url}/?lang=de")
        offer = citizen.locator("li", has_text="Führungszeugnis").first
        assert "Bankkarte für die Gebühr" in (offer.text_content() or "")
        citizen.close()

        page.get_by_role("link", name="Feiertage", exact=True).click()
        page.wait_for_url("**/admin/holidays")
        check.accessible(page)
        good_friday = page.get_by_role("row", name=re.compile("Karfreitag")).first
        assert "geschlossen" in good_friday.inner_text()
        good_friday.get_by_role("button", name=re.compile("An diesem Tag öffnen")).click()
        assert page.get_by_role("status").inner_text().startswith("Am 3. April 2026 trotz")
        good_friday = page.get_by_role("row", name=re.compile("Karfreitag")).first
        assert "geöffnet mit den Wochenzeiten" in good_friday.inner_text()
        check.shot(page, "holidays-de")

        page.get_by_role("link", name="English").click()
        page.wait_for_url("**lang=en")
        assert page.get_by_role("row", name=re.compile("Good Friday")).first.is_visible()
        check.accessible(page)
        page.goto(f"{hub.url}/admin/services/fuehrungszeugnis?lang=en")
        assert page.get_by_label("Name in English").input_value() == "Certificate of good conduct"
        check.accessible(page)
        page.goto(f"{hub.url}/admin/services?lang=en")
        check.accessible(page)
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [DESK, TABLET], ids=["desk", "tablet"])
def test_it_cannot_open_the_catalogue_pages_and_is_told_so(catalogue, browser, check, viewport):
    hub, _, clock = catalogue
    context = browser.new_context(viewport=viewport, locale="de-DE")
    page = context.new_page()
    try:
        first_sign_in(page, hub.url, "/admin/audit", "technik", PASSWORD, clock)
        assert page.get_by_role("link", name="Dienstleistungen").count() == 0
        for path in ("/admin/services", "/admin/services/fuehrungszeugnis", "/admin/holidays"):
            answer = page.goto(f"{hub.url}{path}")
            assert answer is not None and answer.status == 403, path
        # Not an error: whose page it is not, and the way to the own one.
        assert page.get_by_role("heading", level=1).inner_text() == "Kein Zugriff"
        assert "mit der Rolle IT angemeldet" in page.locator("main").inner_text()
        check.accessible(page)
        check.shot(page, "no-access-de")
        page.get_by_role("link", name="English").click()
        page.wait_for_url("**lang=en")
        assert page.get_by_role("heading", level=1).inner_text() == "No access"
        check.accessible(page)
        page.get_by_role("link", name="To your page: Overview").click()
        page.wait_for_url(f"{hub.url}/admin/")
        assert page.get_by_role("link", name="Counter appliances").first.is_visible()
    finally:
        context.close()

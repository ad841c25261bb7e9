"""The cash office's page in Chromium: signed in to the admin area as an administrator (the
page sends the browser to the sign-in and back), a day with a difference made at the payment
sandbox passes axe-core in German and in English, on a desktop and on a 360 px phone, and the
export downloads as the CSV of the day."""

from datetime import datetime

import pytest

from hub.operations.accounts import add_user
from tests.integration.test_cash_office import (
    CALL,
    NOON,
    PASSWORD,
    a_day_with_a_difference,
    desk,  # noqa: F401 - the fixture
    provider,  # noqa: F401 - the fixture
)
from tests.support.admin_pages import HubTime, first_sign_in


@pytest.fixture
def office_hub(desk, provider, payment_sandbox, serve_hub):  # noqa: F811
    add_user(desk.store, "kasse", PASSWORD, "admin", CALL, "Kasse")
    a_day_with_a_difference(desk, provider, payment_sandbox)
    hub = serve_hub(
        desk.store.url,
        payment_url=payment_sandbox.url,
        payment_endpoint_id="08221000",
        clock_start=NOON,
    )
    return hub, HubTime(datetime.fromisoformat(NOON))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, {"width": 360, "height": 740}]
)
def test_the_cash_office_page_is_accessible_and_downloads_the_export(
    office_hub, browser, check, viewport
):
    hub, clock = office_hub
    context = browser.new_context(viewport=viewport, locale="de-DE", accept_downloads=True)
    page = context.new_page()
    try:
        path = "/office/payments?date=2026-03-02"
        first_sign_in(page, hub.url, path, "kasse", PASSWORD, clock)
        assert page.locator("html").get_attribute("lang") == "de"
        difference = page.locator("tr.difference")
        assert difference.count() == 1
        assert "Abweichung:" in difference.inner_text()
        check.accessible(page)
        check.shot(page, "kasse-de")
        with page.expect_download() as waiting:
            page.get_by_role("link", name="Export vom 02.03.2026 herunterladen (CSV)").click()
        download = waiting.value
        assert download.suggested_filename == "kasse-2026-03-02.csv"
        assert download.path().read_bytes().startswith(b"\xef\xbb\xbfBuchungsdatum;")

        page.get_by_role("link", name="English").click()
        page.wait_for_url("**lang=en")
        assert page.locator("html").get_attribute("lang") == "en"
        assert "Difference:" in page.locator("tr.difference").inner_text()
        check.accessible(page)
        check.shot(page, "kasse-en")
        # The day picker, by keyboard: another day shows no requests.
        page.get_by_label("Day", exact=True).fill("2026-03-03")
        page.get_by_role("button", name="Show").press("Enter")
        page.wait_for_url("**date=2026-03-03**")
        assert page.get_by_text("No payment requests on this day.").is_visible()
        check.accessible(page)
    finally:
        context.close()

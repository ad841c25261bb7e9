"""IT's fleet page in Chromium: an appliance heartbeating and one offline while its counter is
open, signed in to the admin area as IT; axe-core in German and in English, on a
desktop and on a 360 px phone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.operations.fleet import fleet
from tests.integration.test_fleet import (
    INSIDE,
    PASSWORD,
    _machine_far_from_berlin,  # noqa: F401 - the fixture (autouse: UTC+14)
    fleet_db,  # noqa: F401 - the fixture
)
from tests.support.admin_pages import HubTime, first_sign_in
from tests.support.appliance_runner import RunningAppliance
from tests.support.waiting import wait_until


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, {"width": 360, "height": 740}]
)
def test_the_fleet_page_is_accessible_and_flags_the_offline_counter(
    fleet_db,  # noqa: F811
    serve_hub,
    browser,
    check,
    viewport,
    tmp_path,
):
    store, _, _, credential = fleet_db
    hub = serve_hub(store.url, clock_start=INSIDE.isoformat())
    clock = HubTime(INSIDE)
    running = RunningAppliance(hub_url=hub.url, device_credential=credential, data_dir=tmp_path)
    running.start()
    context = browser.new_context(viewport=viewport, locale="de-DE")
    page = context.new_page()
    try:
        wait_until(
            lambda: fleet(store, INSIDE, timedelta(days=1))[0].heartbeat_at, 10, "a heartbeat"
        )
        first_sign_in(page, hub.url, "/it/devices", "it", PASSWORD, clock)
        assert page.locator("html").get_attribute("lang") == "de"
        assert page.locator("tr.flagged").count() == 1
        assert "Offline während der Öffnungszeiten" in page.locator("tr.flagged").inner_text()
        online = page.locator("tr", has_text="Pi Schalter 1").inner_text()
        assert "online" in online and "✓" in online
        # The admin area's navigation, this page marked; at the desk's 1280 px the table fits
        # without scrolling sideways (on a phone its region scrolls).
        current = page.locator("nav.admin-nav [aria-current=page]")
        assert current.inner_text() == "Schaltergeräte"
        if viewport["width"] >= 1280:
            region = "document.querySelector('.table-scroll')"
            assert page.evaluate(f"{region}.scrollWidth <= {region}.clientWidth")
        check.accessible(page)
        check.shot(page, "fleet-de")

        page.get_by_role("link", name="English").click()
        page.wait_for_url("**lang=en")
        assert page.locator("html").get_attribute("lang") == "en"
        assert "Offline during opening hours" in page.locator("tr.flagged").inner_text()
        check.accessible(page)
        check.shot(page, "fleet-en")
    finally:
        context.close()
        running.stop()

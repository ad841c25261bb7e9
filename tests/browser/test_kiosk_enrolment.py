"""The kiosk of an appliance enrolling with its own key: the claim code large, the key's
fingerprint and the hub while IT has not approved it, then the sign-in by itself."""

from __future__ import annotations

import re

import pytest

from hub.operations.enrolment import approve
from tests.browser.test_kiosk import kiosk_page, on_screen
from tests.integration.test_appliance_enrolment import enrolment_token, first_counter
from tests.support.appliance_runner import RunningAppliance


@pytest.fixture
def enrolling(sqlite_store, serve_hub, tmp_path):
    """A served hub (real clock: enrolment requests are timed) and an appliance with an
    enrolment token and an empty key folder."""
    hub = serve_hub(sqlite_store.url)
    running = RunningAppliance(
        kiosk=True,
        hub_url=hub.url,
        enrolment_token=enrolment_token(sqlite_store),
        key_dir=tmp_path / "keys",
    ).launch()
    yield hub, running, sqlite_store
    running.stop()


def test_the_kiosk_shows_the_claim_code_until_it_approves_then_the_sign_in(
    enrolling, browser, check
):
    hub, running, store = enrolling
    key = running.appliance.keeper.key
    context, page = kiosk_page(browser, running, "800x480")
    on_screen(page, "enrolment")
    assert page.get_by_role("heading", level=1).inner_text() == "Gerät registrieren"
    page.get_by_text("Warten auf Freigabe durch die IT …").wait_for()
    assert page.locator("#claim-code").inner_text() == key.claim_code
    assert re.fullmatch(r"[0-9A-Z]{3}-[0-9A-Z]{3}", key.claim_code)
    assert page.locator("#key-fingerprint").inner_text() == key.fingerprint
    assert page.locator("#enrolment-hub").inner_text() == hub.url
    size = page.locator("#claim-code").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 48  # readable from beside the counter
    check.shot(page, "pending-de-800x480")
    check.accessible(page)

    english, page_en = kiosk_page(browser, running, "1280x800", "?lang=en")
    on_screen(page_en, "enrolment")
    assert page_en.get_by_role("heading", level=1).inner_text() == "Enrol this device"
    page_en.get_by_text("Waiting for approval by IT …").wait_for()
    check.accessible(page_en)
    check.shot(page_en, "pending-en-1280x800")
    english.close()

    approve(store, key.claim_code, first_counter(store), "Schalter 1", "it", _now())
    on_screen(page, "sign_in", timeout=20000)  # the appliance asks every ~5 s
    assert page.locator("#chip-hub").get_attribute("data-state") == "online"
    context.close()


def test_a_refused_token_is_said_plainly(sqlite_store, serve_hub, browser, check, tmp_path):
    hub = serve_hub(sqlite_store.url)
    running = RunningAppliance(
        kiosk=True, hub_url=hub.url, enrolment_token="x" * 32, key_dir=tmp_path / "keys"
    ).launch()
    try:
        context, page = kiosk_page(browser, running, "800x480")
        on_screen(page, "enrolment")
        alert = page.get_by_role("alert")
        alert.get_by_text("Der Server lehnt das Registrierungs-Token ab").wait_for()
        assert page.get_by_text("Warten auf Freigabe").is_hidden()
        check.shot(page, "token-refused-de-800x480")
        check.accessible(page)
        context.close()
    finally:
        running.stop()


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)

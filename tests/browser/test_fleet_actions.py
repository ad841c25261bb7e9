"""IT at the fleet page in Chromium, with a real appliance daemon enrolling at a served hub:
a wrong claim code is refused plainly, the right one approves it and it comes online; on its
own page IT asks it to identify itself and sees the action reach it (done); a forced restart
asks for confirmation first; a post without the page's CSRF token, or from another site, is
refused. axe-core in German and in English; screenshots."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.operations.accounts import add_user
from hub.operations.enrolment import pending
from hub.operations.remote import actions_of
from tests.integration.test_appliance_enrolment import enrolment_token
from tests.support.admin_pages import HubTime, first_sign_in
from tests.support.appliance_runner import RunningAppliance
from tests.support.waiting import wait_until

PASSWORD = "fleet-admin-pw"


@pytest.fixture
def enrolling(sqlite_store, serve_hub, tmp_path):
    """A served hub (real clock: enrolment requests are timed), an IT admin, and a real
    appliance daemon that enrolled with a token and waits for approval."""
    add_user(sqlite_store, "it", PASSWORD, "admin", datetime.now(UTC))
    hub = serve_hub(sqlite_store.url, presence_seconds="2")
    running = RunningAppliance(
        hub_url=hub.url,
        enrolment_token=enrolment_token(sqlite_store),
        key_dir=tmp_path / "keys",
        data_dir=tmp_path,
        width=160,
        height=120,
        fps=1,
    ).launch()
    assert running.appliance is not None
    keeper = running.appliance.keeper
    running.wait_for(lambda: keeper.state == "pending")
    yield hub, running, sqlite_store
    running.stop()


def test_it_approves_an_appliance_by_its_claim_code_and_has_it_identify_itself(
    enrolling, browser, check
):
    hub, running, store = enrolling
    code = running.appliance.keeper.key.claim_code  # what the counter's screen shows
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    page = context.new_page()
    try:
        first_sign_in(page, hub.url, "/it/devices", "it", PASSWORD, HubTime(None))
        card = page.locator(f"#pending-{code}")
        assert "Warten auf Freigabe" in page.get_by_role("heading", level=2).all_inner_texts()
        assert code in card.inner_text()
        check.accessible(page)
        check.shot(page, "pending-de")

        # A code from another appliance's screen: refused, said plainly, nothing approved.
        wrong = "ZZZ-ZZZ" if code != "ZZZ-ZZZ" else "YYY-YYY"
        card.get_by_label("Zuordnungscode auf dem Bildschirm des Geräts").fill(wrong)
        card.get_by_label("Schalter", exact=True).select_option(label="Schalter 2 (2)")
        card.get_by_role("button", name="Freigeben").click()
        alert = page.get_by_role("alert")
        assert f"Der Zuordnungscode {wrong} ist nicht der dieses Geräts ({code})" in (
            alert.inner_text()
        )
        field = page.locator(f"#pending-{code}").get_by_label(
            "Zuordnungscode auf dem Bildschirm des Geräts"
        )
        assert field.get_attribute("aria-invalid") == "true" and field.input_value() == wrong
        assert [k.claim_code for k in pending(store)] == [code]
        check.accessible(page)
        check.shot(page, "wrong-code-de")

        # The language switch leads to the page itself, in English.
        page.get_by_role("link", name="English").click()
        page.wait_for_url("**/it/devices?lang=en")
        card = page.locator(f"#pending-{code}")
        card.get_by_label("Claim code on the appliance's screen").fill(wrong)
        card.get_by_label("Counter", exact=True).select_option(label="Schalter 2 (2)")
        card.get_by_role("button", name="Approve").click()
        assert f"The claim code {wrong} is not this appliance's" in (
            page.get_by_role("alert").inner_text()
        )
        check.accessible(page)
        check.shot(page, "wrong-code-en")
        page.get_by_role("link", name="Deutsch").click()
        page.wait_for_url("**/it/devices?lang=de")

        # Typed as a person may type it: lower case, a space for the dash.
        card = page.locator(f"#pending-{code}")
        card.get_by_label("Zuordnungscode auf dem Bildschirm des Geräts").fill(
            code.lower().replace("-", " ")
        )
        card.get_by_label("Schalter", exact=True).select_option(label="Schalter 2 (2)")
        card.get_by_label("Name des Geräts (optional)").fill("Pi Schalter Süd")
        card.get_by_role("button", name="Freigeben").click()
        status = page.get_by_role("status")
        assert f"Das Gerät mit dem Zuordnungscode {code} ist freigegeben" in status.inner_text()
        assert page.locator(f"#pending-{code}").count() == 0

        running.wait_for(lambda: running.counter.link == "online", timeout=30)  # asks every ~5 s
        row = page.locator("tr", has_text="Pi Schalter Süd")

        def shown_online() -> bool:
            page.reload()
            return "online" in row.inner_text()

        wait_until(shown_online, 15, "the approved appliance online on the page")
        assert "Schalter 2" in row.inner_text()

        # Its own page: identify, and the action's way to `done` without reloading.
        row.get_by_role("link", name="Pi Schalter Süd").click()
        page.get_by_role("heading", level=1, name="Pi Schalter Süd").wait_for()
        device_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
        check.accessible(page)
        page.get_by_role("button", name="Identifizieren").click()
        assert "Identifizieren angefordert" in page.get_by_role("status").inner_text()
        page.locator("#actions tr.action-done").wait_for(timeout=20000)  # fleet.js refreshes
        done = page.locator("#actions tbody tr").first.inner_text()
        assert "Identifizieren" in done and "erledigt" in done and "web:it" in done
        (action,) = actions_of(store, device_id)
        assert (action.kind, action.state, action.requested_by) == ("identify", "done", "web:it")
        assert running.counter.state().identify  # the appliance got it
        check.accessible(page)
        check.shot(page, "identified-de")

        # Forced restart: a second step; cancelled, nothing asked.
        page.get_by_label("Neu starten oder Neustart des Geräts sofort").check()
        page.get_by_role("button", name="Neu starten", exact=True).click()
        asked = "Sofort, auch während eines Gesprächs: Neu starten?"
        page.get_by_role("heading", name=asked).wait_for()
        check.accessible(page)
        check.shot(page, "force-confirm-de")
        page.get_by_role("link", name="Abbrechen").click()
        assert len(actions_of(store, device_id)) == 1

        # A post without the page's token, and one with it from another site: refused.
        refused = page.request.post(f"{hub.url}/it/devices/{device_id}", form={"kind": "identify"})
        assert refused.status == 400
        assert "kein gültiges Sicherheitsmerkmal" in refused.text()
        token = page.locator("input[name=csrf_token]").first.input_value()
        foreign = page.request.post(
            f"{hub.url}/it/devices/{device_id}",
            form={"kind": "identify", "csrf_token": token},
            headers={"Origin": "https://evil.example"},
        )
        assert foreign.status == 400 and "anderen Website" in foreign.text()
        assert len(actions_of(store, device_id)) == 1

        page.get_by_role("link", name="English").click()
        page.wait_for_url("**lang=en")
        assert page.locator("html").get_attribute("lang") == "en"
        latest = page.locator("#actions tbody tr").first.inner_text()
        assert "Identify" in latest and "done" in latest
        check.accessible(page)
        check.shot(page, "identified-en")
    finally:
        context.close()

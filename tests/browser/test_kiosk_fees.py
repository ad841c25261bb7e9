"""Fees at the counter's touch screen (issue 16): the clerk picks items and quantities, sees the
total, asks for it; the state changes as the hub's `payments` news come (the payment sandbox
served on loopback is the platform); an open request is cancelled after a confirm step and a
cancelled one goes out by e-mail to pay later."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.booking.fees import FeeItem
from hub.operations.fees import set_fee_item
from hub.store.models import PaymentRequestRow
from tests.browser.test_call import joined_lobby
from tests.browser.test_kiosk import kiosk_page, on_screen, sign_in
from tests.support.appliance_runner import RunningAppliance
from tests.support.environment import MONDAY_EARLY, berlin
from tests.support.realtime_clients import make_desk

pytestmark = pytest.mark.browser
NBSP = "\u00a0"
# A fee of the Meldebescheinigung's service asked for once at most: a checkbox, no stepper.
STAMP = FeeItem(
    "beglaubigung", "Beglaubigung", "Certified copy", "Beglaubigung", 500, haushaltsstelle="1.2"
)


@pytest.fixture
def in_call(sqlite_store, serve_hub, media_browser):
    """in_call(**hub settings): a hub at 08:50, a Meldebescheinigung at nine, its counter's
    appliance with the kiosk signed in and the citizen admitted; all closed after the test."""
    opened: list = []

    def start(**settings):
        store = sqlite_store
        desk = make_desk(store, MONDAY_EARLY)
        booking = desk.book(berlin(2026, 3, 2, 9, 0))
        set_fee_item(store, "meldebescheinigung", STAMP)
        hub = serve_hub(store.url, clock_start=berlin(2026, 3, 2, 8, 50).isoformat(), **settings)
        appliance = RunningAppliance(
            kiosk=True, hub_url=hub.url, device_credential=desk.credentials[booking.counter]
        ).start()
        opened.append(appliance)
        context, page = kiosk_page(media_browser, appliance, "1280x800")
        citizen, _ = joined_lobby(media_browser, hub, booking)
        opened[:0] = [context, citizen]
        sign_in(page)
        on_screen(page, "day")
        page.get_by_role("button", name="Einlassen: Person 0").click()
        on_screen(page, "call")
        page.locator("#fees").wait_for(timeout=10000)
        return booking, appliance, page

    yield start
    for thing in opened:
        (thing.stop if isinstance(thing, RunningAppliance) else thing.close)()


def text(locator) -> str:
    return locator.inner_text().replace(NBSP, " ")


def requests(store, booking) -> list[PaymentRequestRow]:
    with store.transaction() as session:
        query = select(PaymentRequestRow).where(PaymentRequestRow.appointment_id == booking.id)
        return list(session.scalars(query.order_by(PaymentRequestRow.created_at)))


def request_row(page, n: int):
    """The n-th request on screen, newest first."""
    return page.locator("#pay-requests li").nth(n)


def test_the_clerk_asks_for_fees_and_sees_them_paid(in_call, sqlite_store, payment_sandbox, check):
    store = sqlite_store
    booking, appliance, page = in_call(
        payment_url=payment_sandbox.url,
        payment_endpoint_id="08221000",
        payment_poll_seconds="0.5",
    )
    panel = page.locator("#fees")
    assert panel.get_by_role("heading", name="Gebühren").is_visible()
    assert "Noch nichts angefordert." in panel.inner_text()
    ask = page.locator("#pay-request")
    assert ask.is_disabled() and text(ask) == "Zahlung anfordern"  # nothing chosen yet

    # Two certificates and one certified copy: 2 × 10,00 € + 5,00 €.
    more = page.get_by_role("button", name="Eins mehr: Meldebescheinigung")
    more.click()
    more.click()
    more.click()
    page.get_by_role("button", name="Eins weniger: Meldebescheinigung").click()
    assert page.get_by_label("Anzahl: Meldebescheinigung").input_value() == "2"
    assert text(page.locator("#fee-total")) == "20,00 €"
    page.get_by_label("Beglaubigung").check()
    assert text(page.locator("#fee-total")) == "25,00 €"
    assert "je 10,00 €" in text(panel)
    assert text(ask) == "Zahlung anfordern (25,00 €)" and ask.is_enabled()
    # Typed in, the quantity stays within 0–99.
    page.get_by_label("Anzahl: Meldebescheinigung").fill("150")
    page.get_by_label("Anzahl: Meldebescheinigung").press("Tab")
    assert page.get_by_label("Anzahl: Meldebescheinigung").input_value() == "99"
    assert text(page.locator("#fee-total")) == "995,00 €"
    page.get_by_label("Anzahl: Meldebescheinigung").fill("2")
    page.get_by_label("Anzahl: Meldebescheinigung").press("Tab")
    assert text(page.locator("#fee-total")) == "25,00 €"
    check.accessible(page)
    check.shot(page, "chosen")

    page.get_by_role("button", name="Zahlung anfordern (25,00 €)").click()
    request_row(page, 0).get_by_text("wartet auf Zahlung").wait_for(timeout=10000)
    assert "25,00 €" in text(request_row(page, 0))
    assert "2 × Meldebescheinigung\n1 × Beglaubigung" in text(request_row(page, 0))
    assert text(page.locator("#fee-total")) == "0,00 €" and ask.is_disabled()  # chosen afresh
    # The hub priced it; the platform got one transaction.
    [row] = requests(store, booking)
    assert row.total_cents == 2500 and row.state == "pending"
    assert payment_sandbox.counts()["transactions"] == 1
    check.accessible(page)
    request_row(page, 0).scroll_into_view_if_needed()  # the side panel scrolls
    check.shot(page, "pending")

    # The citizen pays on the platform's page: the hub reads it and tells the counter.
    assert payment_sandbox.press(row.transaction_id, "pay").status_code in (200, 302, 303)
    request_row(page, 0).get_by_text("bezahlt ✓").wait_for(timeout=10000)
    assert page.get_by_role("button", name="Stornieren").count() == 0
    request_row(page, 0).get_by_text("Quittung in den Dokumenten").wait_for(timeout=15000)
    check.accessible(page)
    request_row(page, 0).scroll_into_view_if_needed()  # the side panel scrolls
    check.shot(page, "paid")

    # A second request, cancelled: the first tap only asks, "no" keeps it.
    page.get_by_label("Beglaubigung").check()
    page.get_by_role("button", name="Zahlung anfordern (5,00 €)").click()
    request_row(page, 0).get_by_text("wartet auf Zahlung").wait_for(timeout=10000)
    request_row(page, 0).get_by_role("button", name="Stornieren").click()
    keep = page.get_by_role("button", name="Nein, behalten")
    assert keep.evaluate("(node) => node === document.activeElement")  # the safe answer
    assert "Diese Anforderung über 5,00 € wirklich stornieren?" in text(request_row(page, 0))
    check.accessible(page)
    check.shot(page, "confirm-cancel")
    keep.click()
    assert requests(store, booking)[-1].state == "pending"
    request_row(page, 0).get_by_role("button", name="Stornieren").click()
    page.get_by_role("button", name="Ja, stornieren").click()
    request_row(page, 0).get_by_text("storniert").wait_for(timeout=10000)
    assert requests(store, booking)[-1].state == "cancelled"

    # Pay later: the same lines go out by e-mail as a new request.
    request_row(page, 0).get_by_role("button", name="Per E-Mail senden").click()
    listed = page.locator("#pay-requests")
    listed.get_by_text("Per E-Mail an die Bürgerin / den Bürger gesendet").wait_for(timeout=10000)
    # The note above comes with the command's reply, the new request with the hub's news a
    # moment later (get_by_text("per E-Mail") would match the note too: it ignores case).
    request_row(page, 2).wait_for(timeout=10000)
    assert "· per E-Mail" in text(request_row(page, 0))
    assert "5,00 €" in text(request_row(page, 0))
    assert page.locator("#pay-requests li").count() == 3
    check.accessible(page)
    request_row(page, 0).scroll_into_view_if_needed()  # the side panel scrolls
    check.shot(page, "mailed")
    page.set_viewport_size({"width": 800, "height": 480})  # the Pi's touch display
    page.locator("#fees").scroll_into_view_if_needed()
    check.accessible(page)
    check.shot(page, "800x480")

    # English too: the same panel, the source texts.
    english = page.context.new_page()
    english.goto(f"{appliance.kiosk_url}/?lang=en")
    on_screen(english, "call")
    english.locator("#fees").get_by_role("heading", name="Fees").wait_for()
    assert "paid ✓" in text(english.locator("#pay-requests"))
    assert "€25.00" in text(english.locator("#pay-requests"))
    check.accessible(english)
    check.shot(english, "english")


def test_without_a_payment_platform_nothing_can_be_asked_and_the_screen_says_why(in_call, check):
    _, _, page = in_call()
    page.get_by_label("Beglaubigung").check()
    ask = page.get_by_role("button", name="Zahlung anfordern (5,00 €)")
    assert ask.is_disabled()
    reason = page.locator("#fees-offline")
    assert reason.is_visible()
    assert "Keine Bezahlplattform eingerichtet" in reason.inner_text()
    assert ask.get_attribute("aria-describedby") == "fees-offline"
    check.accessible(page)
    check.shot(page, "no-platform")

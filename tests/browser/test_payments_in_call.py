"""Fees paid in the call, end to end: the clerk asks for 13,00 €, the citizen pays on the
payment platform's page (the sandbox, a separate process speaking XBezahldienste), both sides
see "paid" at once, and the receipt is in the documents of both and in the citizen's mail."""

from __future__ import annotations

import time

import httpx
import pytest

from protocol.payments import LineWanted
from tests.browser.test_call import auto_admitting, joined
from tests.support.environment import MONDAY_EARLY, berlin
from tests.support.realtime_clients import make_desk

pytestmark = pytest.mark.browser
SHOWN_WITHIN_S = 2.0  # issue 16: both sides show "paid" within 2 s of the payment


@pytest.fixture
def paying_counter(sqlite_store, serve_hub, payment_sandbox, mailbox):
    """08:50 on a Monday, a 09:00 Führungszeugnis, the sandbox as the city's platform, a real
    SMTP server for the mails, and the counter's appliance admitting whoever waits."""
    desk = make_desk(sqlite_store, MONDAY_EARLY)
    booking = desk.book(berlin(2026, 3, 2, 9, 0), 0, "fuehrungszeugnis")
    hub = serve_hub(
        sqlite_store.url,
        clock_start=berlin(2026, 3, 2, 8, 50).isoformat(),
        rate_limit_enabled="false",
        secret_key="payments-in-call",
        payment_url=payment_sandbox.url,
        payment_poll_seconds="1",
        smtp_host="127.0.0.1",
        smtp_port=str(mailbox.port),
        smtp_security="none",
        mail_poll_seconds="0.5",
    )
    appliance = auto_admitting(hub, desk, booking)
    yield hub, booking, appliance, payment_sandbox, mailbox
    appliance.stop()


def _text(page, selector: str) -> str:
    """What the element reads, with the no-break spaces of number formatting as spaces."""
    return page.locator(selector).inner_text().replace("\xa0", " ")


def test_the_citizen_pays_13_euros_in_the_call_and_both_sides_see_it(
    paying_counter, media_browser, check
):
    hub, booking, appliance, sandbox, mailbox = paying_counter
    appointment = str(booking.id)
    context, page = joined(media_browser, hub, booking)
    appliance.wait_for(lambda: appliance.counter.payments.of(appointment) is not None)
    offered = appliance.counter.payments.of(appointment)
    assert offered.online
    assert [(f.code, f.amount_cents) for f in offered.fees] == [("fuehrungszeugnis", 1300)]
    assert page.locator("#payments").is_hidden()  # nothing asked yet

    # The clerk asks; the citizen's page shows the button with the hub's amount.
    answer = appliance.run(
        appliance.counter.payments.request(
            appointment, [LineWanted(code="fuehrungszeugnis", quantity=1)]
        )
    )
    assert answer.ok, answer
    pay = page.get_by_role("link", name="13,00 € bezahlen")
    pay.wait_for(timeout=5000)
    assert pay.get_attribute("target") == "_blank"
    assert "Führungszeugnis: 13,00 €" in _text(page, "#payments-list")
    assert _text(page, "#payments-news") == ("Die Sachbearbeitung bittet Sie, 13,00 € zu bezahlen.")
    check.accessible(page)
    check.shot(page, "asked-to-pay")

    # On the platform's page, in a new window; the call goes on in the first.
    with context.expect_page() as opened:
        pay.click()
    platform = opened.value
    platform.wait_for_load_state()
    assert platform.url.startswith(sandbox.url + "/pay/")
    check.shot(platform, "platform-page")
    assert sandbox.counts()["transactions"] == 1

    platform.get_by_role("button", name="Bezahlen").click()
    paid_at = time.monotonic()
    # The platform sends the citizen back to the hub, which reads the status itself.
    platform.get_by_role("heading", name="Vielen Dank: bezahlt").wait_for(timeout=5000)
    page.locator("#payments-list .payment-state[data-state=paid]").wait_for(
        timeout=SHOWN_WITHIN_S * 1000
    )
    appliance.wait_for(
        lambda: appliance.counter.payments.of(appointment).payments[0].state == "paid",
        timeout=max(0.1, SHOWN_WITHIN_S - (time.monotonic() - paid_at)),
    )
    assert time.monotonic() - paid_at < SHOWN_WITHIN_S
    assert "13,00 € – ✓ bezahlt" in _text(page, "#payments-list")
    assert page.locator("#call-status").inner_text() == "Sie sprechen mit der Sachbearbeitung."
    check.accessible(platform)
    check.shot(platform, "back-from-platform")

    # The receipt: filed in the documents of both sides, and mailed with the PDF.
    appliance.wait_for(
        lambda: appliance.counter.payments.of(appointment).payments[0].receipt is not None
    )
    receipt = appliance.counter.payments.of(appointment).payments[0].receipt
    appliance.wait_for(
        lambda: any(
            d.id == receipt for d in appliance.counter.desk.documents[appointment].documents
        )
    )
    page.get_by_role("button", name="Unterlagen").click()
    page.locator("#from-clerk li", has_text="Quittung").wait_for(timeout=5000)
    page.get_by_text("Die Quittung finden Sie in Ihren Unterlagen.").wait_for()
    check.accessible(page)
    check.shot(page, "paid-with-receipt")

    messages = mailbox.wait_for(2)
    mailed = [m for m in messages if any(p.get_filename() for p in m.iter_attachments())]
    receipt_mails = [
        m
        for m in mailed
        if any((p.get_filename() or "").startswith("Quittung") for p in m.iter_attachments())
    ]
    assert len(receipt_mails) == 1, [m["Subject"] for m in messages]
    mail = receipt_mails[0]
    assert mail["To"] == "person0@example.org"
    attachment = next(p for p in mail.iter_attachments() if p.get_filename().endswith(".pdf"))
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF")

    # Exactly one transaction at the platform, and a reload shows the same from the hub.
    assert sandbox.counts()["transactions"] == 1
    listing = httpx.get(f"{hub.url}/join/{booking.join_token}/documents", timeout=10).json()
    assert [d["name"] for d in listing["documents"] if d["sender"] == "clerk"] == [
        next(d.name for d in appliance.counter.desk.documents[appointment].documents)
    ]
    context.close()

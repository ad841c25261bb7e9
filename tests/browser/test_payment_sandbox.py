"""The payment sandbox's pay page in Chromium: German first, English too, accessible, and paying
there is what the platform's status then says."""

import uuid
from datetime import UTC, datetime

from hub.booking.fees import SEED_FEES, FeeLine
from hub.payments.provider import PaymentItem, PaymentRequest, PaymentState
from hub.payments.xbezahldienste import XBezahldienste


def test_a_citizen_pays_on_the_sandbox_page(payment_sandbox, phone, check):
    (item,) = SEED_FEES["fuehrungszeugnis"]
    client = XBezahldienste(payment_sandbox.url, "buergeramt", "08221000")
    created = client.create(
        PaymentRequest(
            uuid.uuid4().hex,
            (PaymentItem.from_line(FeeLine(item)),),
            "Fuehrungszeugnis",
            f"{payment_sandbox.url}/healthz",  # where the hub's return page would be
            datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        )
    )
    phone.goto(f"{created.pay_url}?lang=en")
    assert phone.locator("html").get_attribute("lang") == "en"
    check.accessible(phone)
    phone.goto(created.pay_url)
    assert phone.locator("html").get_attribute("lang") == "de"
    assert phone.get_by_role("cell", name="Führungszeugnis").is_visible()
    check.accessible(phone)
    check.shot(phone, "pay-page")
    phone.get_by_role("button", name="Bezahlen (13,00\u00a0€)").click()
    phone.wait_for_url(f"{payment_sandbox.url}/healthz")
    assert client.status(created.transaction_id).state is PaymentState.PAID
    client.close()

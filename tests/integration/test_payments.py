"""The XBezahldienste client against the payment sandbox served as a real process: creating is
idempotent per requestId under faults, and only the status read from the platform says paid."""

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from hub.booking.fees import SEED_FEES, FeeLine
from hub.config import Settings
from hub.payments.provider import (
    PaymentItem,
    PaymentRefused,
    PaymentRequest,
    PaymentState,
    PaymentUnavailable,
    create_with_retries,
)
from hub.payments.xbezahldienste import XBezahldienste
from tests.support.payment_sandbox import ServedSandbox

BACK = "http://hub.test/zahlung/zurueck"


def two_certificates(request_id: str | None = None) -> PaymentRequest:
    (item,) = SEED_FEES["meldebescheinigung"]
    return PaymentRequest(
        request_id=request_id or uuid.uuid4().hex,
        items=(PaymentItem.from_line(FeeLine(item, 2)),),
        purpose="Meldebescheinigung",
        redirect_url=BACK,
        requested_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )


@pytest.fixture
def client(payment_sandbox):
    provider = XBezahldienste(payment_sandbox.url, "buergeramt", "08221000", timeout_seconds=2)
    yield provider
    provider.close()


def test_paid_on_the_pay_page_reads_paid(client, payment_sandbox):
    created = client.create(two_certificates())
    assert created.state is PaymentState.PENDING
    assert created.total_cents == 2000
    assert created.pay_url == f"{payment_sandbox.url}/pay/{created.transaction_id}"
    page = httpx.get(created.pay_url)
    assert 'lang="de"' in page.text and "20,00\u00a0€" in page.text and "Bezahlen" in page.text
    assert "€20.00" in httpx.get(created.pay_url, params={"lang": "en"}).text

    back = payment_sandbox.press(created.transaction_id, "pay")
    assert back.status_code == 303 and back.headers["location"] == BACK
    paid = client.status(created.transaction_id)
    assert (paid.state, paid.provider_status) == (PaymentState.PAID, "PAYED")
    assert payment_sandbox.counts()["transactions"] == 1


@pytest.mark.parametrize(
    ("button", "state"),
    [("decline", PaymentState.FAILED), ("cancel", PaymentState.CANCELLED)],
)
def test_declined_or_cancelled_on_the_pay_page(client, payment_sandbox, button, state):
    created = client.create(two_certificates())
    payment_sandbox.press(created.transaction_id, button)
    assert client.status(created.transaction_id).state is state
    # A decided transaction stays decided: paying afterwards changes nothing.
    payment_sandbox.press(created.transaction_id, "pay")
    assert client.status(created.transaction_id).state is state


def test_the_same_request_twice_is_one_transaction(client, payment_sandbox):
    request = two_certificates()
    first = client.create(request)
    again = client.create(request)
    assert again.transaction_id == first.transaction_id
    assert payment_sandbox.counts() == {
        "transactions": 1,
        "creates": 2,
        "requestIds": [request.request_id],
    }


def test_http_500_on_create_then_a_retry_makes_one_transaction(client, payment_sandbox):
    payment_sandbox.faults(fail_create=1)
    request = two_certificates()
    with pytest.raises(PaymentUnavailable):
        client.create(request)
    created = client.create(request)
    assert created.request_id == request.request_id
    assert payment_sandbox.counts()["transactions"] == 1


def test_a_lost_answer_then_a_retry_reads_the_transaction_made(client, payment_sandbox):
    """The platform stored the transaction but its answer was lost: the retry is refused with
    PAYMENT_EXISTS, and the client reads the existing transaction instead of making one."""
    payment_sandbox.faults(lose_create_answer=1)
    pauses = []
    created = create_with_retries(client, two_certificates(), sleep=pauses.append)
    assert pauses == [1.0]
    assert created.state is PaymentState.PENDING
    assert payment_sandbox.counts()["transactions"] == 1
    payment_sandbox.press(created.transaction_id, "pay")
    assert client.status(created.transaction_id).state is PaymentState.PAID


def test_retries_give_up_after_the_last_attempt(client, payment_sandbox):
    payment_sandbox.faults(fail_create=5)
    pauses = []
    with pytest.raises(PaymentUnavailable):
        create_with_retries(client, two_certificates(), attempts=3, sleep=pauses.append)
    assert pauses == [1.0, 2.0]
    assert payment_sandbox.counts() == {"transactions": 0, "creates": 3, "requestIds": []}


def test_slow_answers_time_out_and_count_as_unavailable(client, payment_sandbox):
    request = two_certificates()
    payment_sandbox.faults(delay_seconds=3)
    with pytest.raises(PaymentUnavailable):
        client.create(request)  # the client waits 2 s; the platform may still have made it
    payment_sandbox.faults(delay_seconds=0)
    created = client.create(request)
    assert payment_sandbox.counts()["transactions"] == 1
    assert created.request_id == request.request_id


def test_a_delayed_status_reads_pending_until_the_platform_shows_the_payment(
    client, payment_sandbox
):
    payment_sandbox.faults(status_delay_seconds=1)
    created = client.create(two_certificates())
    payment_sandbox.press(created.transaction_id, "pay")
    assert client.status(created.transaction_id).state is PaymentState.PENDING
    deadline = datetime.now(UTC).timestamp() + 5
    while client.status(created.transaction_id).state is PaymentState.PENDING:
        assert datetime.now(UTC).timestamp() < deadline
    assert client.status(created.transaction_id).state is PaymentState.PAID


def test_an_abandoned_payment_reads_failed_after_the_platform_timeout(client, payment_sandbox):
    """FITKO's status model: the platform sets FAILED when the user's time is up."""
    payment_sandbox.faults(expire_seconds=0.2)
    created = client.create(two_certificates())
    deadline = datetime.now(UTC).timestamp() + 5
    while (state := client.status(created.transaction_id).state) is PaymentState.PENDING:
        assert datetime.now(UTC).timestamp() < deadline
    assert state is PaymentState.FAILED


def test_duplicate_return_calls_the_return_address_twice(client, payment_sandbox):
    """The switch makes the platform come back twice; the status is still read once, paid."""
    payment_sandbox.faults(duplicate_return=True)
    created = client.create(two_certificates())
    back = payment_sandbox.press(created.transaction_id, "pay")
    assert back.headers["location"] == BACK
    assert client.status(created.transaction_id).state is PaymentState.PAID


def test_a_request_the_platform_refuses_is_not_retried(client, payment_sandbox):
    request = two_certificates()
    forged = PaymentRequest(
        request.request_id,
        (PaymentItem("x", "X", 1, 100), PaymentItem("y y", "Y", 1, 100)),
        "Meldebescheinigung",
        BACK,
        request.requested_at,
    )
    pauses = []
    with pytest.raises(PaymentRefused) as caught:
        create_with_retries(client, forged, sleep=pauses.append)
    assert caught.value.code == "VALIDATION_ERROR" and pauses == []
    assert payment_sandbox.counts()["transactions"] == 0


def test_credentials_are_sent_and_checked(tmp_path):
    sandbox = ServedSandbox(tmp_path, user="heidelberg", password="geheim")
    try:
        wrong = XBezahldienste(sandbox.url, "buergeramt", "08221000", user="heidelberg")
        with pytest.raises(PaymentRefused) as caught:
            wrong.create(two_certificates())
        assert caught.value.code == "FORBIDDEN"
        settings = Settings(
            payment_url=sandbox.url,
            payment_endpoint_id="08221000",
            payment_user="heidelberg",
            payment_password="geheim",
        )
        right = XBezahldienste.from_settings(settings)
        assert right is not None
        assert right.create(two_certificates()).state is PaymentState.PENDING
        assert XBezahldienste.from_settings(Settings()) is None
        wrong.close()
        right.close()
    finally:
        sandbox.stop()

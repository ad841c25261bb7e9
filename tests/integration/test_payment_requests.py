"""Payment requests against the payment sandbox served as a real process (issue 16 point 4):
the amount only from the catalogue, one requestId per request, "paid" only from the status the
hub reads, and exactly one final state per request under the sandbox's faults."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from hub import create_app
from hub.clock import fixed_clock
from hub.jobs import runner
from hub.operations import calls
from hub.operations import payments as ops
from hub.operations.payments import PaymentRequestRefused
from hub.payments.xbezahldienste import XBezahldienste
from hub.store import Store
from hub.store.models import PaymentRequestRow
from tests.support.environment import berlin
from tests.support.hub import make_settings
from tests.support.realtime_clients import make_desk

NINE = berlin(2026, 3, 2, 9, 0)
TEN_TO = berlin(2026, 3, 2, 8, 50)
CALL = berlin(2026, 3, 2, 9, 5)
BACK = "http://hub.test/termin/zahlung"
CLERK, OTHER_CLERK = 1, 2


@pytest.fixture
def desk(store):
    return make_desk(store, TEN_TO)


@pytest.fixture
def app_factory(tmp_path):
    """A fresh hub app on its own Store of `db_url` at CALL + 2 minutes, paying through
    `payment_url` (None: no payment platform)."""
    stores: list[Store] = []

    def make(db_url, payment_url):
        store = Store(db_url)
        stores.append(store)
        settings = make_settings(
            tmp_path,
            database_url=db_url,
            payment_url=payment_url,
            payment_endpoint_id="08221000",
        )
        clock = fixed_clock(CALL + timedelta(minutes=2))
        return create_app(settings, clock=clock, store=store, TESTING=True)

    yield make
    for store in stores:
        store.dispose()


@pytest.fixture
def provider(payment_sandbox):
    client = XBezahldienste(payment_sandbox.url, "buergeramt", "08221000", timeout_seconds=2)
    yield client
    client.close()


def in_call(desk, service="meldebescheinigung", n=0):
    """An appointment at nine of `service`, its citizen admitted by CLERK."""
    from hub.calls.window import JoinWindow

    booking = desk.book(NINE, n, service)
    window = JoinWindow(timedelta(minutes=15), timedelta(minutes=15))
    calls.citizen_join(desk.store, booking.join_token, f"page{n}", TEN_TO, window)
    device = desk.device_ids[booking.counter]
    calls.admit(desk.store, booking.id, device, booking.counter, CLERK, TEN_TO, timedelta(30))
    return booking


def ask(store, provider, booking, lines=(("meldebescheinigung", 2),), now=CALL):
    return ops.request_payment(
        store, provider, booking.id, list(lines), clerk_id=CLERK, now=now, redirect_url=BACK
    )


def test_two_certificates_paid_on_the_pay_page_read_paid_once(desk, provider, payment_sandbox):
    booking = in_call(desk)
    asked = ask(desk.store, provider, booking)
    assert (asked.state, asked.total_cents, asked.purpose) == (
        "pending",
        2000,
        "Meldebescheinigung",
    )
    assert [(line.code, line.quantity, line.unit_cents) for line in asked.lines] == [
        ("meldebescheinigung", 2, 1000)
    ]
    assert asked.lines[0].haushaltsstelle == "1.1220.111000"
    assert asked.pay_url == f"{payment_sandbox.url}/pay/{asked.transaction_id}"
    assert asked.expires_at == CALL + timedelta(minutes=30)

    # The citizen's return to the redirect URL proves nothing: still pending until read.
    assert payment_sandbox.press(asked.transaction_id, "pay").headers["location"] == BACK
    assert ops.payments(desk.store, booking.id)[0].state == "pending"

    paid = ops.refresh(desk.store, provider, asked.id, CALL + timedelta(minutes=1))
    assert (paid.payment.state, paid.became_final) == ("paid", True)
    assert paid.payment.final_at == CALL + timedelta(minutes=1)
    again = ops.refresh(desk.store, provider, asked.id, CALL + timedelta(minutes=2))
    assert (again.payment.state, again.became_final) == ("paid", False)
    assert again.payment.final_at == CALL + timedelta(minutes=1)
    assert payment_sandbox.counts()["transactions"] == 1


def test_a_declined_card_fails(desk, provider, payment_sandbox):
    asked = ask(desk.store, provider, in_call(desk))
    payment_sandbox.press(asked.transaction_id, "decline")
    assert ops.refresh(desk.store, provider, asked.id, CALL).payment.state == "failed"


def test_an_abandoned_page_expires_at_the_deadline_and_a_later_payment_is_flagged(
    desk, provider, payment_sandbox
):
    asked = ask(desk.store, provider, in_call(desk))
    before = ops.refresh(desk.store, provider, asked.id, asked.expires_at - timedelta(seconds=1))
    assert before.payment.state == "pending"
    expired = ops.follow(desk.store, provider, asked.expires_at)
    assert expired.expired == [asked.id]
    assert ops.payment(desk.store, asked.id).state == "expired"

    # The platform's transaction is still open: paying now does not revive ours, it is flagged.
    payment_sandbox.press(asked.transaction_id, "pay")
    later = asked.expires_at + timedelta(minutes=5)
    assert ops.follow(desk.store, provider, later).flagged == [asked.id]
    flagged = ops.payment(desk.store, asked.id)
    assert (flagged.state, flagged.paid_after_final_at) == ("expired", later)
    assert ops.follow(desk.store, provider, later + timedelta(minutes=1)).flagged == []


def test_paid_just_before_the_deadline_is_paid_not_expired(desk, provider, payment_sandbox):
    asked = ask(desk.store, provider, in_call(desk))
    payment_sandbox.press(asked.transaction_id, "pay")
    report = ops.follow(desk.store, provider, asked.expires_at + timedelta(minutes=1))
    assert (report.settled, report.expired) == ([asked.id], [])
    assert ops.payment(desk.store, asked.id).state == "paid"


def test_http_500_on_create_is_retried_by_the_job_with_the_same_request_id(
    desk, provider, payment_sandbox
):
    payment_sandbox.faults(fail_create=2)  # both attempts of request_payment answer 500
    asked = ask(desk.store, provider, in_call(desk))
    assert (asked.state, asked.transaction_id) == ("requested", None)
    assert "500" in asked.last_error
    with desk.store.transaction() as session:
        stored = session.scalar(select(PaymentRequestRow.request_id))
    assert stored == asked.request_id

    # Within the grace the clerk's own command may still be asking: the job leaves it.
    assert ops.follow(desk.store, provider, CALL + timedelta(seconds=3)).created == []
    assert ops.payment(desk.store, asked.id).state == "requested"
    report = ops.follow(desk.store, provider, CALL + ops.CREATE_GRACE + timedelta(seconds=1))
    assert report.created == [asked.id]
    created = ops.payment(desk.store, asked.id)
    assert created.state == "pending" and created.last_error == ""
    assert ops.follow(desk.store, provider, CALL + timedelta(seconds=30)).created == []
    counts = payment_sandbox.counts()
    assert (counts["transactions"], counts["creates"]) == (1, 3)
    assert counts["requestIds"] == [asked.request_id]


def test_a_lost_create_answer_is_one_transaction(desk, provider, payment_sandbox):
    payment_sandbox.faults(lose_create_answer=1)
    asked = ask(desk.store, provider, in_call(desk))
    assert asked.state == "pending"
    assert payment_sandbox.counts()["transactions"] == 1


def test_an_unreachable_provider_leaves_it_requested_and_expires_it_at_the_deadline(desk):
    nowhere = XBezahldienste("http://127.0.0.1:9", "buergeramt", "08221000", timeout_seconds=1)
    asked = ask(desk.store, nowhere, in_call(desk))
    assert asked.state == "requested" and asked.last_error
    assert ops.follow(desk.store, nowhere, CALL + timedelta(minutes=1)).created == []
    assert ops.follow(desk.store, nowhere, asked.expires_at).expired == [asked.id]
    nowhere.close()


def test_duplicate_returns_change_nothing(desk, provider, payment_sandbox):
    payment_sandbox.faults(duplicate_return=True)
    asked = ask(desk.store, provider, in_call(desk))
    payment_sandbox.press(asked.transaction_id, "pay")
    payment_sandbox.press(asked.transaction_id, "pay")
    first = ops.refresh(desk.store, provider, asked.id, CALL)
    second = ops.refresh(desk.store, provider, asked.id, CALL + timedelta(seconds=3))
    assert [first.became_final, second.became_final] == [True, False]
    assert second.payment.state == "paid"
    assert payment_sandbox.counts()["transactions"] == 1


def test_a_slow_status_endpoint_is_followed_until_paid(desk, provider, payment_sandbox):
    asked = ask(desk.store, provider, in_call(desk))
    payment_sandbox.faults(status_delay_seconds=1.0)
    payment_sandbox.press(asked.transaction_id, "pay")
    assert ops.refresh(desk.store, provider, asked.id, CALL).payment.state == "pending"
    time.sleep(1.1)
    assert ops.refresh(desk.store, provider, asked.id, CALL).payment.state == "paid"


def test_a_status_read_that_times_out_changes_nothing(desk, payment_sandbox):
    impatient = XBezahldienste(payment_sandbox.url, "buergeramt", "08221000", timeout_seconds=0.3)
    asked = ask(desk.store, impatient, in_call(desk))
    payment_sandbox.press(asked.transaction_id, "pay")
    payment_sandbox.faults(delay_seconds=1.0)
    slow = ops.refresh(desk.store, impatient, asked.id, CALL)
    assert (slow.payment.state, slow.became_final) == ("pending", False)
    payment_sandbox.faults(delay_seconds=0)
    assert ops.refresh(desk.store, impatient, asked.id, CALL).payment.state == "paid"
    impatient.close()


def test_paid_while_the_hub_was_down_is_paid_after_restart_once(
    app_factory, desk, db_url, provider, payment_sandbox
):
    asked = ask(desk.store, provider, in_call(desk))
    payment_sandbox.press(asked.transaction_id, "pay")
    desk.store.dispose()  # the hub is gone between the payment and the status read

    app = app_factory(db_url, payment_sandbox.url)
    runner(app).run_once("payments")
    runner(app).run_once("payments")
    fresh = Store(db_url)
    (paid,) = ops.payments(fresh, asked.appointment_id)
    assert (paid.state, paid.final_at) == ("paid", CALL + timedelta(minutes=2))
    assert payment_sandbox.counts()["transactions"] == 1
    fresh.dispose()


def test_two_racing_refreshes_make_one_final_transition(desk, provider, payment_sandbox):
    asked = ask(desk.store, provider, in_call(desk))
    payment_sandbox.press(asked.transaction_id, "pay")
    start = threading.Barrier(4)
    results: list[ops.Refreshed] = []

    def race(n: int) -> None:
        start.wait()
        results.append(ops.refresh(desk.store, provider, asked.id, CALL + timedelta(seconds=n)))

    threads = [threading.Thread(target=race, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(r.became_final for r in results) == [False, False, False, True]
    (winner,) = [r for r in results if r.became_final]
    assert ops.payment(desk.store, asked.id).final_at == winner.payment.final_at
    assert {r.payment.state for r in results} == {"paid"}


def test_the_clerk_cancels_an_unpaid_request_and_a_later_payment_is_flagged(
    desk, provider, payment_sandbox
):
    asked = ask(desk.store, provider, in_call(desk))
    with pytest.raises(PaymentRequestRefused) as refused:
        ops.cancel_payment(desk.store, provider, asked.id, clerk_id=OTHER_CLERK, now=CALL)
    assert refused.value.code == "not_your_call"
    cancelled = ops.cancel_payment(desk.store, provider, asked.id, clerk_id=CLERK, now=CALL)
    assert (cancelled.payment.state, cancelled.became_final) == ("cancelled", True)
    with pytest.raises(PaymentRequestRefused, match="cancelled already"):
        ops.cancel_payment(desk.store, provider, asked.id, clerk_id=CLERK, now=CALL)

    payment_sandbox.press(asked.transaction_id, "pay")
    assert ops.follow(desk.store, provider, CALL + timedelta(seconds=3)).flagged == [asked.id]
    after = ops.payment(desk.store, asked.id)
    assert (after.state, after.paid_after_final_at) == ("cancelled", CALL + timedelta(seconds=3))


def test_cancelling_what_the_citizen_just_paid_records_paid(desk, provider, payment_sandbox):
    asked = ask(desk.store, provider, in_call(desk))
    payment_sandbox.press(asked.transaction_id, "pay")
    result = ops.cancel_payment(desk.store, provider, asked.id, clerk_id=CLERK, now=CALL)
    assert (result.payment.state, result.became_final) == ("paid", True)


def test_only_codes_and_quantities_go_in_priced_from_the_catalogue(desk, provider, payment_sandbox):
    booking = in_call(desk, "bewohnerparkausweis")
    for lines, code in [
        ([("meldebescheinigung", 1)], "unknown_item"),  # another service's item
        ([("bewohnerparken", 2)], "quantity"),  # a fixed quantity
        ([("bewohnerparken", 0)], "quantity"),
        ([("bewohnerparken", True)], "quantity"),
        ([("bewohnerparken", 1), ("bewohnerparken", 1)], "repeated_item"),
        ([], "no_items"),
        ([("bewohnerparken", 1, 1)], "line"),  # no place for an amount
    ]:
        with pytest.raises(PaymentRequestRefused) as refused:
            ask(desk.store, provider, booking, lines)
        assert refused.value.code == code, lines
    assert ops.payments(desk.store, booking.id) == []
    assert payment_sandbox.counts()["creates"] == 0

    asked = ask(desk.store, provider, booking, [("bewohnerparken", 1)])
    assert asked.total_cents == 12000
    assert payment_sandbox.counts()["transactions"] == 1


def test_only_the_clerk_of_a_standing_appointment_asks(desk, provider, payment_sandbox):
    booking = in_call(desk)
    with pytest.raises(PaymentRequestRefused) as refused:
        ops.request_payment(
            desk.store,
            provider,
            booking.id,
            [("meldebescheinigung", 1)],
            clerk_id=OTHER_CLERK,
            now=CALL,
            redirect_url=BACK,
        )
    assert refused.value.code == "not_your_call"
    not_admitted = desk.book(NINE, 1)
    with pytest.raises(PaymentRequestRefused, match="another clerk"):
        ask(desk.store, provider, not_admitted)
    assert payment_sandbox.counts()["creates"] == 0


def test_another_appointment_s_payment_is_not_among_its_payments(desk, provider, payment_sandbox):
    mine, theirs = in_call(desk, n=0), desk.book(NINE, 1)
    asked = ask(desk.store, provider, mine)
    assert [p.id for p in ops.payments(desk.store, mine.id)] == [asked.id]
    assert ops.payments(desk.store, theirs.id) == []


def test_without_a_payment_platform_the_job_does_nothing(app_factory, desk, db_url):
    booking = in_call(desk)
    nowhere = XBezahldienste("http://127.0.0.1:9", "buergeramt", "08221000", timeout_seconds=1)
    asked = ask(desk.store, nowhere, booking)
    nowhere.close()
    app = app_factory(db_url, None)
    assert app.extensions["settings"].payment_url is None
    runner(app).run_once("payments")
    assert ops.payment(desk.store, asked.id).state == "requested"

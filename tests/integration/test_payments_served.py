"""Fees in the call through the served hub (issue 16): the clerk's commands over Socket.IO, the
citizen's pay link, and a hub killed between the citizen's payment and its status read."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from hub.links import pay_token
from hub.store.models import DocumentRow, MailRow, PaymentRequestRow
from tests.support.environment import MONDAY_EARLY, berlin
from tests.support.realtime_clients import appliance, citizen, make_desk, signed_in

SECRET = "payments-served"
NINE = berlin(2026, 3, 2, 9, 0)
TEN_TO = berlin(2026, 3, 2, 8, 50)


def _serve(serve_hub, store, sandbox=None, **env):
    settings = {
        "clock_start": TEN_TO.isoformat(),
        "rate_limit_enabled": "false",
        "secret_key": SECRET,
        **({"payment_url": sandbox.url} if sandbox else {}),
        **env,
    }
    return serve_hub(store.url, **settings)


def _in_call(hub, desk, n=0, service="fuehrungszeugnis"):
    """A booking at nine whose citizen is connected and admitted by the counter's clerk."""
    booking = desk.book(NINE, n, service)
    page = citizen(hub.url, booking.join_token).connect()
    page.next("status")
    counter = appliance(hub.url, desk.credentials[booking.counter], reconnection=True).connect()
    counter.next("hello")
    signed_in(counter)
    admitted = counter.call("admit", {"appointment": str(booking.id)})
    assert admitted["ok"], admitted
    return booking, page, counter


def _row(store, appointment) -> PaymentRequestRow:
    with store.transaction() as session:
        (row,) = session.scalars(
            select(PaymentRequestRow).where(PaymentRequestRow.appointment_id == appointment)
        )
        session.expunge(row)
        return row


def test_paid_while_the_hub_is_killed_is_paid_once_after_restart(
    sqlite_store, serve_hub, payment_sandbox
):
    desk = make_desk(sqlite_store, MONDAY_EARLY)
    # The job reads open requests once at start, then not for an hour: only a restart reads.
    hub = _serve(serve_hub, sqlite_store, payment_sandbox, payment_poll_seconds="3600")
    booking, page, counter = _in_call(hub, desk)
    asked = counter.call(
        "payment_request",
        {"appointment": str(booking.id), "lines": [{"code": "fuehrungszeugnis", "quantity": 1}]},
    )
    assert asked["ok"] and asked["payment"]["state"] == "pending", asked
    assert asked["payment"]["total_cents"] == 1300
    news = page.next("payments")
    assert news["payments"][0]["pay_link"].startswith(f"{hub.url}/pay/")
    assert counter.next("payments")["payments"][0]["state"] == "pending"

    hub.kill()  # gone before anyone read the status
    row = _row(sqlite_store, booking.id)
    assert payment_sandbox.press(row.transaction_id, "pay").status_code in (200, 303)
    hub.launch()  # its first payments round reads the transaction: paid

    # The appliance comes back by itself and learns it; nobody followed the redirect.
    counter.next("hello", timeout=15)
    deadline = time.monotonic() + 10
    while True:
        listed = counter.call("payment_list", {"appointment": str(booking.id)})
        if listed["payments"][0]["receipt"] is not None or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [p["state"] for p in listed["payments"]] == ["paid"]
    assert listed["payments"][0]["receipt"] is not None
    assert payment_sandbox.counts()["transactions"] == 1

    # Exactly one receipt filed and one receipt mail queued, however often it is read again.
    for _ in range(3):
        httpx.get(f"{hub.url}/pay/{pay_token(SECRET, row.id)}/back", timeout=10)
    with sqlite_store.transaction() as session:
        receipts = session.scalar(
            select(func.count())
            .select_from(DocumentRow)
            .where(DocumentRow.appointment_id == booking.id)
        )
        mails = session.scalar(
            select(func.count())
            .select_from(MailRow)
            .where(MailRow.payment_id == row.id, MailRow.kind == "receipt")
        )
    assert (receipts, mails) == (1, 1)
    assert _row(sqlite_store, booking.id).state == "paid"
    page.close()
    counter.close()


def test_the_citizen_reaches_only_its_own_payment_and_sets_no_amount(
    sqlite_store, serve_hub, payment_sandbox
):
    desk = make_desk(sqlite_store, MONDAY_EARLY)
    hub = _serve(serve_hub, sqlite_store, payment_sandbox)
    booking, page, counter = _in_call(hub, desk)
    counter.call(
        "payment_request",
        {"appointment": str(booking.id), "lines": [{"code": "fuehrungszeugnis", "quantity": 2}]},
    )
    link = page.next("payments")["payments"][0]["pay_link"]
    token = link.rsplit("/", 1)[1]

    # The page's socket has no way to ask for, price or change a payment.
    for event in ("payment_request", "payment_cancel", "payments"):
        answer = page.call(
            event, {"appointment": str(booking.id), "lines": [{"code": "x", "quantity": 1}]}
        )
        assert answer["ok"] is False, (event, answer)
    # An amount in the clerk's request is refused, not ignored.
    refused = counter.call(
        "payment_request",
        {
            "appointment": str(booking.id),
            "lines": [{"code": "fuehrungszeugnis", "quantity": 1, "amount_cents": 1}],
        },
    )
    assert refused["error"]["code"] == "invalid_payload"

    # A link that is not the hub's own (another id, a changed signature) leads nowhere.
    forged = pay_token("another-secret", uuid.uuid4())
    for bad in (forged, token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "x"):
        assert httpx.get(f"{hub.url}/pay/{bad}", timeout=10).status_code == 404
    # Its own link goes to the platform, with the hub's amount; query arguments change nothing.
    sent = httpx.get(f"{link}?amount=1&total_cents=1", timeout=10)
    assert sent.status_code == 303
    assert sent.headers["location"].startswith(payment_sandbox.url + "/pay/")
    pay_page = httpx.get(sent.headers["location"], timeout=10).text
    assert "26,00" in pay_page

    # Another appointment's payments are not among this page's news.
    other, other_page, other_counter = _in_call(hub, desk, n=1)
    other_counter.call(
        "payment_request",
        {"appointment": str(other.id), "lines": [{"code": "fuehrungszeugnis", "quantity": 1}]},
    )
    assert len(other_page.next("payments")["payments"]) == 1
    with pytest.raises(AssertionError):
        page.next("payments", timeout=1.5)
    # And the clerk of one call cannot act on the other call's request.
    theirs = _row(sqlite_store, other.id)
    crossed = counter.call(
        "payment_cancel", {"appointment": str(booking.id), "payment": str(theirs.id)}
    )
    assert crossed["error"]["code"] == "not_found"
    for party in (page, counter, other_page, other_counter):
        party.close()


def test_without_a_payment_platform_the_clerk_is_told_so(sqlite_store, serve_hub):
    desk = make_desk(sqlite_store, MONDAY_EARLY)
    hub = _serve(serve_hub, sqlite_store)
    booking, page, counter = _in_call(hub, desk)
    listed = counter.call("payment_list", {"appointment": str(booking.id)})
    assert listed["online"] is False and listed["fees"][0]["amount_cents"] == 1300
    asked = counter.call(
        "payment_request",
        {"appointment": str(booking.id), "lines": [{"code": "fuehrungszeugnis", "quantity": 1}]},
    )
    assert asked["error"]["code"] == "no_platform"
    page.close()
    counter.close()

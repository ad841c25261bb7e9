"""Receipts and the payment mails (issue 16 points 2 and 5), on SQLite and PostgreSQL, paid on the
payment sandbox served as a real process and mailed to a real SMTP server: one receipt per paid
request however many file it at once, filed among the appointment's documents and attached to
the citizen's mail; the pay-later mail's link names the new request."""

from __future__ import annotations

import re
import subprocess
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hub import create_app
from hub.booking.tokens import join_token_for
from hub.calls.window import JoinWindow
from hub.clock import fixed_clock
from hub.jobs import runner
from hub.links import pay_return_url, payment_of
from hub.notify.outbox import deliver_due
from hub.notify.payment_mail import enqueue_payment_mail
from hub.operations import calls, documents
from hub.operations import payments as ops
from hub.operations.booking import BookingRequest, book
from hub.operations.receipts import file_receipt, file_receipts, issuer
from hub.payments.receipt import receipt_pdf
from hub.payments.xbezahldienste import XBezahldienste
from hub.store.models import DocumentAccessRow, MailRow
from hub.store.receipts import receipt_facts
from tests.support.environment import berlin
from tests.support.hub import make_settings
from tests.support.realtime_clients import make_desk

NINE = berlin(2026, 3, 2, 9, 0)
TEN_TO = berlin(2026, 3, 2, 8, 50)
CALL = berlin(2026, 3, 2, 9, 5)
PAID = CALL + timedelta(minutes=1)
CLERK = 1
SECRET = "receipt-test-key"


@pytest.fixture
def desk(store):
    return make_desk(store, TEN_TO)


@pytest.fixture
def provider(payment_sandbox):
    client = XBezahldienste(payment_sandbox.url, "buergeramt", "08221000", timeout_seconds=2)
    yield client
    client.close()


@pytest.fixture
def hub_app(store, tmp_path, mailbox, payment_sandbox):
    """The hub on the test database, paying through the sandbox and mailing to `mailbox`, its
    clock two minutes into the call."""
    settings = make_settings(
        tmp_path,
        database_url=store.url,
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        smtp_security="none",
        secret_key=SECRET,
        payment_url=payment_sandbox.url,
        payment_endpoint_id="08221000",
        office_name="Stadt Musterstadt, Bürgeramt",
        office_address="Marktplatz 1, 12345 Musterstadt",
    )
    return create_app(settings, clock=fixed_clock(CALL + timedelta(minutes=2)), store=store)


def admitted(desk, lang="de"):
    """The id of an appointment at nine, booked in `lang`, its citizen admitted by CLERK."""
    request = BookingRequest(
        "meldebescheinigung", NINE, "Erika Mustermann", "erika@example.org", lang
    )
    booked = book(desk.store, desk.store_policy, desk.now, request)
    appointment_id = booked.appointment.id
    counter = desk.counter_of(appointment_id)
    window = JoinWindow(timedelta(minutes=15), timedelta(minutes=15))
    calls.citizen_join(desk.store, join_token_for(booked.manage_token), "page", TEN_TO, window)
    device = desk.device_ids[counter]
    calls.admit(desk.store, appointment_id, device, counter, CLERK, TEN_TO, timedelta(30))
    return appointment_id


def ask(desk, provider, appointment_id):
    """The clerk asks for two Meldebescheinigungen (20,00 €)."""
    return ops.request_payment(
        desk.store,
        provider,
        appointment_id,
        [("meldebescheinigung", 2)],
        clerk_id=CLERK,
        now=CALL,
        redirect_url="http://hub.test/back",
    )


def paid_request(desk, provider, payment_sandbox, lang="de"):
    """A request paid on the sandbox's page and read paid by the hub at PAID."""
    asked = ask(desk, provider, admitted(desk, lang))
    payment_sandbox.press(asked.transaction_id, "pay")
    assert ops.refresh(desk.store, provider, asked.id, PAID).payment.state == "paid"
    return ops.payment(desk.store, asked.id)


def mails_about(store, payment_id):
    with store.transaction() as session:
        return [
            (m.kind, m.status)
            for m in session.scalars(select(MailRow).where(MailRow.payment_id == payment_id))
        ]


def deliver(app, at):
    ext = app.extensions
    return deliver_due(ext["store"], ext["mails"], ext["mail_transport"], at)


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "read.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    return " ".join(out.stdout.decode().split())


def filed_bytes(store, appointment_id, document_id) -> bytes:
    _, chunks = documents.open_document(store, appointment_id, document_id, actor="admin", now=PAID)
    return b"".join(chunks)


def test_a_paid_request_gets_its_receipt_filed_and_mailed_with_the_pdf(
    hub_app, desk, provider, payment_sandbox, mailbox, tmp_path
):
    paid = paid_request(desk, provider, payment_sandbox)
    settings = hub_app.extensions["settings"]
    receipt_id = file_receipt(desk.store, settings, paid.id, PAID)
    assert receipt_id is not None
    assert ops.payment(desk.store, paid.id).receipt_document_id == receipt_id
    (filed,) = documents.documents(desk.store, paid.appointment_id)
    assert (filed.id, filed.name, filed.sender, filed.media_type) == (
        receipt_id,
        "Quittung-2026-03-02.pdf",
        "clerk",
        "application/pdf",
    )
    # Filing again changes nothing: the same document, no second mail.
    assert file_receipt(desk.store, settings, paid.id, PAID) == receipt_id
    assert file_receipts(desk.store, settings, PAID) == set()
    assert len(documents.documents(desk.store, paid.appointment_id)) == 1
    assert mails_about(desk.store, paid.id) == [("receipt", "pending")]

    filed_text = pdf_text(filed_bytes(desk.store, paid.appointment_id, receipt_id), tmp_path)
    for expected in (
        "Stadt Musterstadt, Bürgeramt",
        "Meldebescheinigung",
        "10,00 €",
        "20,00 €",
        paid.transaction_id,
        paid.request_id,
        "1.1220.111000",  # the Haushaltsstelle of the sample fee
        "02.03.2026, 09:06",  # paid at, Berlin time
    ):
        assert expected in filed_text, expected

    assert deliver(hub_app, PAID).sent
    [message] = mailbox.wait_for(1)
    assert message["To"] == "erika@example.org"
    assert message["Subject"] == "Ihre Quittung: 20,00\xa0€ bezahlt"
    text = message.get_body(("plain",)).get_content()
    assert "Vielen Dank" in text and paid.transaction_id in text and "Anhang" in text
    (attached,) = list(message.iter_attachments())
    assert (attached.get_content_type(), attached.get_filename()) == (
        "application/pdf",
        "Quittung-2026-03-02.pdf",
    )
    mailed = attached.get_content()
    # The mail's PDF is the receipt made again from the stored request: the very bytes that
    # were filed (the documents keep them rewritten by the sanitiser, so compare the text).
    services = desk.store.catalogue().services
    with desk.store.transaction() as session:
        facts = receipt_facts(session, services, issuer(settings), paid.id)
    assert facts is not None and mailed == receipt_pdf(facts)
    assert pdf_text(mailed, tmp_path) == filed_text
    assert mails_about(desk.store, paid.id) == [("receipt", "sent")]


def test_an_unpaid_request_gets_no_receipt(hub_app, desk, provider, payment_sandbox):
    asked = ask(desk, provider, admitted(desk))
    settings = hub_app.extensions["settings"]
    assert file_receipt(desk.store, settings, asked.id, PAID) is None
    payment_sandbox.press(asked.transaction_id, "decline")
    assert ops.refresh(desk.store, provider, asked.id, PAID).payment.state == "failed"
    assert file_receipt(desk.store, settings, asked.id, PAID) is None
    assert file_receipts(desk.store, settings, PAID) == set()
    assert documents.documents(desk.store, asked.appointment_id) == []
    assert mails_about(desk.store, asked.id) == []


def test_four_racing_filings_leave_exactly_one_receipt_and_one_mail(
    hub_app, desk, provider, payment_sandbox
):
    paid = paid_request(desk, provider, payment_sandbox)
    settings = hub_app.extensions["settings"]
    start = threading.Barrier(4)
    results: list[object] = []

    def race() -> None:
        start.wait()
        try:
            results.append(file_receipt(desk.store, settings, paid.id, PAID))
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=race) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    kept = ops.payment(desk.store, paid.id).receipt_document_id
    assert kept is not None
    assert results == [kept] * 4
    assert [d.id for d in documents.documents(desk.store, paid.appointment_id)] == [kept]
    assert mails_about(desk.store, paid.id) == [("receipt", "pending")]
    # Every copy a loser filed was deleted again (the access log keeps both steps).
    with desk.store.transaction() as session:
        actions = [
            a.action
            for a in session.scalars(
                select(DocumentAccessRow).where(
                    DocumentAccessRow.appointment_id == paid.appointment_id
                )
            )
        ]
    assert actions.count("upload") - actions.count("delete") == 1


def test_the_payments_job_settles_files_and_tells_once(hub_app, desk, provider, payment_sandbox):
    asked = ask(desk, provider, admitted(desk))
    payment_sandbox.press(asked.transaction_id, "pay")
    runner(hub_app).run_once("payments")
    after = ops.payment(desk.store, asked.id)
    assert after.state == "paid" and after.receipt_document_id is not None
    runner(hub_app).run_once("payments")
    assert len(documents.documents(desk.store, asked.appointment_id)) == 1
    assert mails_about(desk.store, asked.id) == [("receipt", "pending")]


def pay_later(hub_app, desk, provider, lang):
    """The clerk sends the call's request by e-mail instead; the new request."""
    asked = ask(desk, provider, admitted(desk, lang))
    settings = hub_app.extensions["settings"]
    return ops.request_by_mail(
        desk.store,
        provider,
        asked.id,
        clerk_id=CLERK,
        now=CALL,
        redirect_url=lambda new: pay_return_url(settings.public_url, SECRET, new),
        expiry=timedelta(days=settings.payment_mail_days),
        enqueue=lambda conn, appointment, new: enqueue_payment_mail(
            conn, appointment, new, "payment", CALL
        ),
    )


@pytest.mark.parametrize(
    ("lang", "subject", "line", "until"),
    [
        (
            "de",
            "Gebühren bezahlen: 20,00\xa0€",
            "- 2 × Meldebescheinigung (10,00\xa0€): 20,00\xa0€",
            "Der Link gilt bis Montag, 9. März 2026, 09:05 Uhr.",
        ),
        (
            "en",
            "Pay your fees: €20.00",
            "- 2 × Registration certificate (€10.00): €20.00",
            "The link works until Monday, March 9, 2026, 9:05\u202fAM.",
        ),
    ],
)
def test_the_pay_later_mail_links_to_the_new_request(
    hub_app, desk, provider, payment_sandbox, mailbox, lang, subject, line, until
):
    new = pay_later(hub_app, desk, provider, lang)
    assert new.channel == "mail" and new.expires_at == CALL + timedelta(days=7)
    assert mails_about(desk.store, new.id) == [("payment", "pending")]
    assert deliver(hub_app, CALL).sent
    [message] = mailbox.wait_for(1)
    assert message["Subject"] == subject
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert line in text and until in text
    (token,) = re.findall(r"http://hub\.test/pay/(\S+)", text)
    assert payment_of(SECRET, token) == new.id
    assert f"/pay/{token}" in html and f'lang="{lang}"' in html
    assert "/manage/" not in text and "/join/" not in text  # no appointment links in it
    assert list(message.iter_attachments()) == []


def test_a_pay_later_mail_of_a_request_cancelled_before_it_went_is_withdrawn(
    hub_app, desk, provider, payment_sandbox, mailbox
):
    new = pay_later(hub_app, desk, provider, "de")
    ops.cancel_payment(desk.store, provider, new.id, clerk_id=CLERK, now=CALL)
    report = deliver(hub_app, CALL)
    assert (report.sent, len(report.withdrawn)) == ([], 1)
    assert mails_about(desk.store, new.id) == [("payment", "cancelled")]
    assert mailbox.messages == []

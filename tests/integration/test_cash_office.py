"""The cash office (issue 16 point 6): the day's export and the reconciliation, on SQLite and
PostgreSQL, with payments made and faults produced at the payment sandbox served as a process.
Every moment is injected (`now`); the machine's own time zone is set far from Berlin."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from hub.booking.fees import FeeItem
from hub.booking.timezone import BERLIN
from hub.calls.window import JoinWindow
from hub.operations import calls, fees
from hub.operations import cash_office as office
from hub.operations import payments as ops
from hub.payments.xbezahldienste import XBezahldienste
from hub.store.models import PaymentRequestRow
from tests.support.environment import berlin
from tests.support.realtime_clients import make_desk

NINE = berlin(2026, 3, 2, 9, 0)
TEN_TO = berlin(2026, 3, 2, 8, 50)
CALL = berlin(2026, 3, 2, 9, 5)
BACK = "http://hub.test/termin/zahlung"
CLERK = 1
COPY = FeeItem(
    "abschrift",
    "Beglaubigte Abschrift für Übersee",
    "Certified copy",
    "Abschrift",
    450,
    kassenzeichen="KZ-2026/0042",
    haushaltsstelle="1.1220.111100",
    variable_quantity=True,
)


@pytest.fixture(autouse=True)
def _machine_far_from_berlin(far_time_zone):
    """Every test here runs with the machine in UTC+14 (tests/support/time_zone.py)."""


@pytest.fixture
def desk(store):
    desk = make_desk(store, TEN_TO)
    fees.set_fee_item(store, "meldebescheinigung", COPY)
    return desk


@pytest.fixture
def provider(payment_sandbox):
    client = XBezahldienste(payment_sandbox.url, "buergeramt", "08221000", timeout_seconds=2)
    yield client
    client.close()


def in_call(desk, n=0):
    booking = desk.book(NINE, n)
    window = JoinWindow(timedelta(minutes=15), timedelta(minutes=15))
    calls.citizen_join(desk.store, booking.join_token, f"page{n}", TEN_TO, window)
    device = desk.device_ids[booking.counter]
    calls.admit(desk.store, booking.id, device, booking.counter, CLERK, TEN_TO, timedelta(30))
    return booking


def ask(desk, provider, booking, lines):
    return ops.request_payment(
        desk.store, provider, booking.id, list(lines), clerk_id=CLERK, now=CALL, redirect_url=BACK
    )


def paid_at(desk, provider, sandbox, booking, lines, when):
    """A request for `lines`, paid at the sandbox, read paid by the hub at `when`."""
    asked = ask(desk, provider, booking, lines)
    sandbox.press(asked.transaction_id, "pay")
    assert ops.refresh(desk.store, provider, asked.id, when).payment.state == "paid"
    return ops.payment(desk.store, asked.id)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def snapshot(store):
    with store.transaction() as session:
        return [
            tuple(getattr(r, c.key) for c in PaymentRequestRow.__table__.columns)
            for r in session.scalars(select(PaymentRequestRow).order_by(PaymentRequestRow.id))
        ]


TWO_AND_ONE = (("meldebescheinigung", 2), ("abschrift", 1))  # 2 × 10,00 + 4,50 = 24,50 €


def test_a_days_export_has_one_row_per_position_of_the_requests_paid_that_berlin_day(
    desk, provider, payment_sandbox
):
    booking = in_call(desk)
    # Winter (UTC+1): 22:30 UTC is 23:30 on 2 March in Berlin; 23:30 UTC is already 3 March.
    late_evening = paid_at(
        desk, provider, payment_sandbox, booking, TWO_AND_ONE, utc(2026, 3, 2, 22, 30)
    )
    after_midnight = paid_at(
        desk, provider, payment_sandbox, booking, [("abschrift", 3)], utc(2026, 3, 2, 23, 30)
    )
    # Summer (UTC+2): 21:30 UTC is 23:30 on 6 July; 23:30 UTC is 01:30 on 7 July.
    july_6 = paid_at(
        desk,
        provider,
        payment_sandbox,
        booking,
        [("meldebescheinigung", 1)],
        utc(2026, 7, 6, 21, 30),
    )
    july_7 = paid_at(
        desk,
        provider,
        payment_sandbox,
        booking,
        [("meldebescheinigung", 3)],
        utc(2026, 7, 6, 23, 30),
    )
    declined = ask(desk, provider, booking, [("abschrift", 1)])
    payment_sandbox.press(declined.transaction_id, "decline")
    ops.refresh(desk.store, provider, declined.id, utc(2026, 3, 2, 22, 0))

    march_2 = office.daily_export(desk.store, date(2026, 3, 2))
    reference = booking.id.hex[:8].upper()
    assert [
        (r.item_code, r.quantity, r.unit_cents, r.amount_cents, r.position) for r in march_2
    ] == [("meldebescheinigung", 2, 1000, 2000, 1), ("abschrift", 1, 450, 450, 2)]
    assert sum(r.amount_cents for r in march_2) == 2450 == late_evening.total_cents
    first, second = march_2
    assert (first.booking_date, first.transaction_id, first.request_id) == (
        date(2026, 3, 2),
        late_evening.transaction_id,
        late_evening.request_id,
    )
    assert (first.haushaltsstelle, first.kassenzeichen, first.label) == (
        "1.1220.111000",
        "",
        "Meldebescheinigung",
    )
    assert (second.kassenzeichen, second.label, second.currency) == (
        "KZ-2026/0042",
        "Beglaubigte Abschrift für Übersee",
        "EUR",
    )
    assert {r.purpose for r in march_2} == {ops.MIXED_PURPOSE}
    assert {(r.appointment_ref, r.note) for r in march_2} == {(reference, "")}

    march_3 = office.daily_export(desk.store, date(2026, 3, 3))
    assert [(r.request_id, r.amount_cents, r.booking_date) for r in march_3] == [
        (after_midnight.request_id, 1350, date(2026, 3, 3))
    ]
    assert [r.request_id for r in office.daily_export(desk.store, date(2026, 7, 6))] == [
        july_6.request_id
    ]
    assert [
        (r.request_id, r.amount_cents) for r in office.daily_export(desk.store, date(2026, 7, 7))
    ] == [(july_7.request_id, 3000)]
    assert office.daily_export(desk.store, date(2026, 3, 1)) == []
    assert os.environ["TZ"] == "Pacific/Kiritimati"

    # The CSV reads back with the csv module: German headers, ';', decimal comma, BOM first.
    text = office.export_csv(march_2)
    assert text.startswith("\ufeffBuchungsdatum;Kassenzeichen;Haushaltsstelle;Betrag;")
    table = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    assert [name for name, _ in office.COLUMNS] == list(table[0])
    assert [
        (r["Buchungsdatum"], r["Betrag"], r["Betrag in Cent"], r["Menge"], r["Einzelpreis"])
        for r in table
    ] == [("02.03.2026", "20,00", "2000", "2", "10,00"), ("02.03.2026", "4,50", "450", "1", "4,50")]
    assert {r["Währung"] for r in table} == {"EUR"}
    assert table[1]["Bezeichnung"] == "Beglaubigte Abschrift für Übersee"
    assert table[1]["Transaktions-ID"] == late_evening.transaction_id
    assert table[1]["Terminreferenz"] == reference
    assert {r["Hinweis"] for r in table} == {""}
    assert "\r\n" in text and text.count("\r\n") == 3


def test_a_payment_after_a_cancel_is_exported_with_a_note_on_the_day_it_was_found(
    desk, provider, payment_sandbox
):
    booking = in_call(desk)
    asked = ask(desk, provider, booking, [("meldebescheinigung", 1)])
    ops.cancel_payment(desk.store, provider, asked.id, clerk_id=CLERK, now=CALL)
    payment_sandbox.press(asked.transaction_id, "pay")
    found = utc(2026, 3, 2, 23, 10)  # 00:10 on 3 March in Berlin
    assert ops.follow(desk.store, provider, found).flagged == [asked.id]

    assert office.daily_export(desk.store, date(2026, 3, 2)) == []
    (row,) = office.daily_export(desk.store, date(2026, 3, 3))
    assert (row.booking_date, row.amount_cents, row.transaction_id) == (
        date(2026, 3, 3),
        1000,
        asked.transaction_id,
    )
    assert row.note.startswith("nach Storno bezahlt")


def codes(result):
    return {p.request_id: [d.code for d in p.differences] for p in result.payments}


def test_reconcile_flags_each_difference_and_changes_nothing(desk, provider, payment_sandbox):
    booking = in_call(desk)
    sandbox = payment_sandbox
    start, end = office.day_span(date(2026, 3, 2))
    noon = berlin(2026, 3, 2, 12, 0)

    matching = paid_at(desk, provider, sandbox, booking, TWO_AND_ONE, CALL)
    # Cancelled here, then paid on the platform's page: paid after its end.
    cancelled = ask(desk, provider, booking, [("meldebescheinigung", 1)])
    ops.cancel_payment(desk.store, provider, cancelled.id, clerk_id=CLERK, now=CALL)
    sandbox.press(cancelled.transaction_id, "pay")
    # Paid on the platform, not yet read by the hub: the job has not caught up.
    unread = ask(desk, provider, booking, [("abschrift", 2)])
    sandbox.press(unread.transaction_id, "pay")
    # Still open on both sides: no difference.
    open_both = ask(desk, provider, booking, [("abschrift", 1)])

    before = snapshot(desk.store)
    result = office.reconcile(desk.store, provider, start, end, noon)
    assert snapshot(desk.store) == before
    assert codes(result) == {
        matching.request_id: [],
        cancelled.request_id: ["paid_after_end"],
        unread.request_id: ["not_caught_up"],
        open_both.request_id: [],
    }
    assert result.our_paid_cents == 2450
    assert result.provider_paid_cents == 2450 + 1000 + 900
    assert {p.request_id for p in result.differing} == {cancelled.request_id, unread.request_id}
    assert result.unknown == []
    assert result.checked_at == noon
    assert office.PAID_AFTER_END.de.startswith("Bei der Plattform bezahlt")

    # The platform now reports the paid request as still open (its status lags): paid here
    # only. And it reports another amount for the unread one.
    sandbox.faults(status_delay_seconds=3600, status_amount_offset_cents=100)
    again = office.reconcile(desk.store, provider, start, end, noon)
    found = codes(again)
    assert found[matching.request_id] == ["paid_here_only", "amount_differs"]
    assert "amount_differs" in found[unread.request_id]
    assert snapshot(desk.store) == before
    by_id = {p.request_id: p for p in again.payments}
    assert by_id[unread.request_id].provider_total_cents == 1000  # 900 + the platform's 100


def test_a_transaction_the_platform_forgot_is_flagged_and_an_unreachable_one_is_unknown(
    desk, provider, payment_sandbox
):
    booking = in_call(desk)
    start, end = office.day_span(date(2026, 3, 2))
    paid = paid_at(desk, provider, payment_sandbox, booking, [("meldebescheinigung", 1)], CALL)

    slow = XBezahldienste(payment_sandbox.url, "buergeramt", "08221000", timeout_seconds=0.5)
    payment_sandbox.faults(delay_seconds=2)
    unknown = office.reconcile(desk.store, slow, start, end, CALL)
    slow.close()
    (row,) = unknown.payments
    assert (row.unknown, row.differences, row.provider_state) == (True, (), None)
    assert row.error and unknown.differing == [] and unknown.provider_paid_cents == 0
    assert unknown.our_paid_cents == 1000

    # The platform lost its transactions (a reset sandbox): it does not know ours.
    httpx_reset(payment_sandbox)
    forgotten = office.reconcile(desk.store, provider, start, end, CALL)
    assert codes(forgotten) == {paid.request_id: ["unknown_transaction"]}
    assert forgotten.unknown == []


def httpx_reset(sandbox):
    import httpx

    httpx.post(f"{sandbox.url}/sandbox/reset", timeout=5).raise_for_status()


def test_requests_of_other_days_and_without_transaction_are_not_reconciled(
    desk, provider, payment_sandbox
):
    booking = in_call(desk)
    paid_at(desk, provider, payment_sandbox, booking, [("abschrift", 1)], CALL)
    payment_sandbox.faults(fail_create=2)
    never_created = ask(desk, provider, booking, [("abschrift", 1)])
    assert never_created.transaction_id is None
    start, end = office.day_span(date(2026, 3, 3))
    assert office.reconcile(desk.store, provider, start, end, CALL).payments == []
    start, end = office.day_span(date(2026, 3, 3), days=2)
    assert [
        p.total_cents for p in office.reconcile(desk.store, provider, start, end, CALL).payments
    ] == [450]
    assert len(office.day_requests(desk.store, date(2026, 3, 2))) == 2


def test_amounts_as_german_decimals_and_berlin_day_spans():
    assert [office.german_amount(c) for c in (0, 5, 450, 123456, -1999)] == [
        "0,00",
        "0,05",
        "4,50",
        "1234,56",
        "-19,99",
    ]
    start, end = office.day_span(date(2026, 3, 29))  # the clocks go forward: 23 hours
    assert (start, end - start) == (datetime(2026, 3, 29, tzinfo=BERLIN), timedelta(hours=23))
    start, end = office.day_span(date(2026, 10, 25), days=2)
    assert end - start == timedelta(hours=49)
    with pytest.raises(ValueError):
        office.day_span(date(2026, 3, 2), days=0)


# The command line and the page, with a difference made at the sandbox: a request cancelled
# here and then paid on the platform's page.

PASSWORD = "kasse-geheim-1"
NOON = "2026-03-02T12:00:00+01:00"


def a_day_with_a_difference(desk, provider, sandbox):
    booking = in_call(desk)
    matching = paid_at(desk, provider, sandbox, booking, TWO_AND_ONE, CALL)
    cancelled = ask(desk, provider, booking, [("meldebescheinigung", 1)])
    ops.cancel_payment(desk.store, provider, cancelled.id, clerk_id=CLERK, now=CALL)
    sandbox.press(cancelled.transaction_id, "pay")
    return matching, cancelled


def buergeramt(tmp_path, store, sandbox, *args, **env):
    settings = {
        "BUERGERAMT_DATABASE_URL": store.url,
        "BUERGERAMT_CLOCK_START": NOON,
        "BUERGERAMT_PAYMENT_ENDPOINT_ID": "08221000",
        **({"BUERGERAMT_PAYMENT_URL": sandbox.url} if sandbox else {}),
        **env,
    }
    return run(tmp_path, "payments", *args, env=settings)


def run(tmp_path, *args, env):
    import subprocess
    import sys

    # Only the settings given here: none from the machine running the tests.
    outside = {k: v for k, v in os.environ.items() if not k.startswith("BUERGERAMT_")}
    full_env = {**outside, "BUERGERAMT_DATA_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-c", "from hub.cli import main; main()", *args],
        env=full_env,
        capture_output=True,
        timeout=60,
    )


def test_the_commands_export_reconcile_and_list_with_exit_codes_for_cron(
    desk, provider, payment_sandbox, tmp_path
):
    store = desk.store
    booking = in_call(desk)
    paid_at(desk, provider, payment_sandbox, booking, TWO_AND_ONE, CALL)

    fine = buergeramt(tmp_path, store, payment_sandbox, "reconcile")
    assert fine.returncode == 0, fine.stderr
    assert b"1 requests, 0 with differences, 0 unknown" in fine.stdout
    assert b"paid here 24,50 EUR, paid at the platform 24,50 EUR" in fine.stdout

    # Today by the configured clock (Berlin), on standard output, byte for byte the export.
    exported = buergeramt(tmp_path, store, payment_sandbox, "export")
    assert exported.returncode == 0, exported.stderr
    expected = office.export_csv(office.daily_export(store, date(2026, 3, 2))).encode()
    assert exported.stdout == expected and expected.startswith(b"\xef\xbb\xbf")
    out = tmp_path / "kasse.csv"
    written = buergeramt(tmp_path, store, None, "export", "--date", "2026-03-02", "--out", out)
    assert written.returncode == 0, written.stderr
    assert out.read_bytes() == expected
    assert b"2 positions, 24,50 EUR" in written.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".kasse")] == []

    cancelled = ask(desk, provider, booking, [("meldebescheinigung", 1)])
    ops.cancel_payment(store, provider, cancelled.id, clerk_id=CLERK, now=CALL)
    payment_sandbox.press(cancelled.transaction_id, "pay")
    differs = buergeramt(tmp_path, store, payment_sandbox, "reconcile", "--date", "2026-03-02")
    assert differs.returncode == 1, differs.stderr
    assert b"paid_after_end" in differs.stdout and b"1 with differences" in differs.stdout
    listed = buergeramt(tmp_path, store, None, "list", "--date", "2026-03-02")
    assert listed.returncode == 0 and listed.stdout.count(b"\n") == 2
    assert b"cancelled" in listed.stdout

    payment_sandbox.faults(delay_seconds=2)
    slow = buergeramt(
        tmp_path, store, payment_sandbox, "reconcile", BUERGERAMT_PAYMENT_TIMEOUT_SECONDS="0.5"
    )
    assert slow.returncode == 3, slow.stderr
    assert b"0 with differences, 2 unknown" in slow.stdout
    payment_sandbox.faults(delay_seconds=0)

    unchanged = snapshot(store)
    for args, problem in (
        (("reconcile", "--date", "2026-02-30"), b"--date"),
        (("reconcile", "--date", "02.03.2026"), b"--date"),
        (("reconcile", "--days", "0"), b"--days"),
        (("reconcile", "--days", "zwei"), b"--days"),
        (("export", "--date", "2026-3-2"), b"--date"),
        (("export", "--out", str(tmp_path / "missing" / "kasse.csv")), b"does not exist"),
        (("export", "--out", "/proc/kasse.csv"), b"cannot write"),
    ):
        bad = buergeramt(tmp_path, store, payment_sandbox, *args)
        assert bad.returncode == 2, (args, bad.stderr)
        assert problem in bad.stderr and bad.stderr.count(b"\n") == 1, bad.stderr
        assert bad.stdout == b""
    nowhere = buergeramt(tmp_path, store, None, "reconcile")
    assert nowhere.returncode == 2 and b"no payment platform configured" in nowhere.stderr
    assert out.read_bytes() == expected
    assert snapshot(store) == unchanged


def basic(username, password):
    import base64

    return {
        "Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    }


def test_the_page_wants_an_administrator_and_shows_the_difference(
    desk, provider, payment_sandbox, serve_hub
):
    import httpx

    from hub.operations.accounts import add_user
    from tests.support.realtime_clients import PASSWORD as CLERK_PASSWORD

    store = desk.store
    add_user(store, "kasse", PASSWORD, "admin", CALL, "Kasse")
    matching, cancelled = a_day_with_a_difference(desk, provider, payment_sandbox)
    hub = serve_hub(
        store.url,
        payment_url=payment_sandbox.url,
        payment_endpoint_id="08221000",
        clock_start=NOON,
    )
    page = f"{hub.url}/office/payments?date=2026-03-02"
    nobody = httpx.get(page, timeout=10)  # a browser: to the admin area's sign-in, no prompt
    assert nobody.status_code == 302 and "www-authenticate" not in nobody.headers
    assert nobody.headers["location"] == "/admin/sign-in?next=/office/payments?date%3D2026-03-02"
    assert cancelled.request_id not in nobody.text
    wrong = httpx.get(page, headers=basic("kasse", "wrong-password"), timeout=10)
    assert wrong.status_code == 401  # a script that sends credentials: HTTP Basic as before
    assert wrong.headers["www-authenticate"].startswith("Basic realm=")
    assert "Kasse" not in wrong.text and cancelled.request_id not in wrong.text
    assert httpx.get(page, headers=basic("clerk", CLERK_PASSWORD), timeout=10).status_code == 401
    assert httpx.get(page, headers=basic("kasse", "wrong-password"), timeout=10).status_code == 401
    csv_url = f"{hub.url}/office/payments.csv?date=2026-03-02"
    assert httpx.get(csv_url, timeout=10).status_code == 302

    admin = basic("kasse", PASSWORD)
    shown = httpx.get(page, headers=admin, timeout=10)
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"
    assert '<tr class="difference">' in shown.text
    assert shown.text.count('class="difference"') == 1
    assert "Abweichung:" in shown.text and office.PAID_AFTER_END.de in shown.text
    assert cancelled.request_id in shown.text and matching.request_id in shown.text
    assert "24,50\xa0€" in shown.text  # paid here
    english = httpx.get(page + "&lang=en", headers=admin, timeout=10)
    assert office.PAID_AFTER_END.en in english.text and '<html lang="en">' in english.text

    download = httpx.get(csv_url, headers=admin, timeout=10)
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert download.headers["cache-control"] == "no-store"
    assert "kasse-2026-03-02.csv" in download.headers["content-disposition"]
    assert download.content == office.export_csv(
        office.daily_export(store, date(2026, 3, 2))
    ).encode("utf-8")
    bad = httpx.get(f"{hub.url}/office/payments?date=2026-02-30", headers=admin, timeout=10)
    assert bad.status_code == 422 and 'role="alert"' in bad.text

    # Password guessing from one address: refused after the booking limit (10 a minute).
    answers = [
        httpx.get(page, headers=basic("kasse", f"guess-{n}"), timeout=10).status_code
        for n in range(12)
    ]
    assert answers.count(429) >= 1 and set(answers) <= {401, 429}

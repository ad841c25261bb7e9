"""The receipt PDF (hub.payments.receipt): what it says, read back by poppler's pdftotext, and
the same bytes for the same facts, in this process and another."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.payments import receipt
from hub.payments.receipt import Issuer, ReceiptFacts, ReceiptLine, receipt_name, receipt_pdf

PAID = datetime(2026, 11, 30, 15, 43, 12, tzinfo=UTC)  # 16:43 in Berlin
FACTS = ReceiptFacts(
    office_name="Stadt Musterstadt – Bürgeramt",
    office_address=("Marktplatz 1", "12345 Musterstadt"),
    service_name="Führungszeugnis",
    lines=(
        ReceiptLine("Führungszeugnis", 1, 1300, "5.0123.456789", "1.1220.111000"),
        ReceiptLine("Meldebescheinigung", 2, 1000, "", "1.1220.111001"),
    ),
    paid_at=PAID,
    transaction_id="TX-4711-abc",
    request_id="0f" * 16,
    appointment_reference="02.03.2026, 09:00 · 1f0c",
)


def text_of(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text as poppler reads it, in reading order, whitespace collapsed."""
    path = tmp_path / "receipt.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    ).stdout.decode()
    return " ".join(out.split())


def test_the_receipt_names_office_items_amounts_keys_and_the_transaction(tmp_path):
    text = text_of(receipt_pdf(FACTS), tmp_path)
    for expected in (
        "Stadt Musterstadt – Bürgeramt",
        "Marktplatz 1",
        "Quittung / Receipt",
        "Führungszeugnis",
        "Meldebescheinigung",
        "13,00 €",  # one certificate
        "10,00 €",  # the unit price of the other line
        "20,00 €",  # two of them
        "33,00 €",  # the total
        "Gesamt / Total",
        "Kassenzeichen: 5.0123.456789",
        "Haushaltsstelle: 1.1220.111000",
        "Haushaltsstelle: 1.1220.111001",
        "TX-4711-abc",
        "0f" * 16,
        "30.11.2026, 16:43",  # paid at, in Berlin time
        "02.03.2026, 09:00 · 1f0c",
    ):
        assert expected in text, expected
    # A line without a Kassenzeichen prints none (no empty label).
    assert text.count("Kassenzeichen:") == 1


def test_the_same_facts_give_the_same_bytes_and_other_facts_other_bytes():
    first = receipt_pdf(FACTS)
    assert first.startswith(b"%PDF-")
    assert receipt_pdf(FACTS) == first
    assert receipt_pdf(replace(FACTS, paid_at=PAID + timedelta(seconds=1))) != first
    assert receipt_pdf(replace(FACTS, transaction_id="TX-4712-abc")) != first


def test_another_process_makes_the_same_bytes(tmp_path):
    """The outbox makes the receipt again, perhaps in another hub process, perhaps later."""
    here = receipt_pdf(FACTS)
    script = (
        "import sys; from tests.unit.test_receipt import FACTS;"
        " from hub.payments.receipt import receipt_pdf;"
        " sys.stdout.buffer.write(receipt_pdf(FACTS))"
    )
    root = Path(__file__).resolve().parents[2]
    there = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, check=True
    ).stdout
    assert there == here


def test_the_file_is_named_after_the_day_paid_in_berlin():
    late = replace(FACTS, paid_at=datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    assert receipt_name(FACTS) == "Quittung-2026-11-30.pdf"
    assert receipt_name(late) == "Quittung-2026-12-01.pdf"  # half past midnight in Berlin


def test_without_dejavu_helvetica_still_prints_umlauts_and_the_euro(tmp_path, monkeypatch):
    monkeypatch.setattr(receipt, "DEJAVU", tmp_path / "no-fonts-here")
    text = text_of(receipt_pdf(FACTS), tmp_path)
    assert "Führungszeugnis" in text and "33,00 €" in text and "TX-4711-abc" in text


def test_a_naive_payment_time_is_refused():
    with pytest.raises(ValueError, match="aware"):
        receipt_pdf(replace(FACTS, paid_at=datetime(2026, 11, 30, 15, 43)))


def test_the_issuer_s_address_is_split_into_lines():
    issuer = Issuer.of(" Bürgeramt Musterstadt ", "Marktplatz 1, 12345 Musterstadt\n")
    assert issuer == Issuer("Bürgeramt Musterstadt", ("Marktplatz 1", "12345 Musterstadt"))
    assert Issuer.of("Bürgeramt", "").address == ()

"""The receipt for a paid payment request as a PDF: who issued it, for what, the lines with
their booking keys for the cash office, the total, when it was paid and the transaction id.

German first, English second in every label. Deterministic: the same facts give the same
bytes (the creation date is the payment's time, nothing random is written), so a receipt made
again equals the one filed. fpdf2 is imported when a receipt is made, not with the hub.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from babel.dates import format_datetime
from babel.numbers import format_currency

from hub.booking.timezone import BERLIN

if TYPE_CHECKING:
    from fpdf import FPDF

log = logging.getLogger("hub.payments")

# Debian's fonts-dejavu-core: covers every character of German and English (and €). Without
# it the PDF falls back to Helvetica, which knows Latin-1 and € only (docs/operations.md).
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}


@dataclass(frozen=True)
class Issuer:
    """The office that issues receipts: its name and postal address lines."""

    name: str = "Bürgeramt"
    address: tuple[str, ...] = ()

    @classmethod
    def of(cls, name: str, address: str) -> Issuer:
        """From the settings' text: address lines separated by newlines or ", "."""
        lines = address.replace(", ", "\n").splitlines()
        return cls(name.strip(), tuple(line.strip() for line in lines if line.strip()))


@dataclass(frozen=True)
class ReceiptLine:
    """One paid position with the booking keys the cash office books it by."""

    label: str
    quantity: int
    unit_cents: int
    kassenzeichen: str = ""
    haushaltsstelle: str = ""

    @property
    def total_cents(self) -> int:
        """Unit price times quantity."""
        return self.unit_cents * self.quantity


@dataclass(frozen=True)
class ReceiptFacts:
    """Everything a receipt says."""

    office_name: str
    service_name: str
    lines: tuple[ReceiptLine, ...]
    paid_at: datetime  # aware; printed in Berlin time
    transaction_id: str
    request_id: str
    appointment_reference: str
    office_address: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total_cents(self) -> int:
        """The sum of the lines."""
        return sum(line.total_cents for line in self.lines)


def euro(cents: int, lang: str = "de") -> str:
    """An amount the way `lang` writes it: 13,00 € in German (no float on the way)."""
    return format_currency(Decimal(cents) / 100, "EUR", locale=lang)


def receipt_name(facts: ReceiptFacts) -> str:
    """The receipt's file name, e.g. Quittung-2026-11-30.pdf (the day it was paid, in Berlin)."""
    return f"Quittung-{facts.paid_at.astimezone(BERLIN).date().isoformat()}.pdf"


def _windows_1252(facts: ReceiptFacts) -> bool:
    """Whether everything the receipt prints is in Windows-1252 (German, € and – are)."""
    texts = [
        facts.office_name,
        facts.service_name,
        facts.transaction_id,
        facts.request_id,
        facts.appointment_reference,
        *facts.office_address,
        *(part for line in facts.lines for part in (line.label, line.kassenzeichen)),
        *(line.haushaltsstelle for line in facts.lines),
    ]
    try:
        "".join(texts).encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _fonts(pdf: FPDF, facts: ReceiptFacts) -> tuple[str, bool]:
    """The font family to write with, and whether it is a Unicode one. Helvetica, built into
    every PDF reader, when it can print every character: a receipt is made while the hub
    serves calls, and loading and subsetting DejaVu takes ~0.3 s of CPU on its event loop."""
    if _windows_1252(facts):
        pdf.core_fonts_encoding = "windows-1252"  # Latin-1 has no € and no –
        return "Helvetica", False
    if all((DEJAVU / name).is_file() for name in FONT_FILES.values()):
        for style, name in FONT_FILES.items():
            pdf.add_font("DejaVu", style, str(DEJAVU / name))
        return "DejaVu", True
    log.warning("receipt: %s missing (apt install fonts-dejavu-core); using Helvetica", DEJAVU)
    pdf.core_fonts_encoding = "windows-1252"  # Latin-1 has no € and no –
    return "Helvetica", False


def _text(unicode: bool, text: str) -> str:
    """What the font can print: everything with DejaVu, Windows-1252 with Helvetica."""
    if unicode:
        return text
    return text.replace("\u202f", " ").encode("cp1252", "replace").decode("cp1252")


def _address(facts: ReceiptFacts) -> Sequence[str]:
    return [line for line in facts.office_address if line.strip()]


def receipt_pdf(facts: ReceiptFacts) -> bytes:
    """The receipt as PDF bytes (A4, one page for any ordinary number of lines)."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    if facts.paid_at.tzinfo is None:
        raise ValueError("paid_at must be an aware datetime")
    pdf = FPDF(format="A4")
    pdf.set_creation_date(facts.paid_at)  # no clock in the file: the same facts, the same bytes
    pdf.set_title(f"Quittung / Receipt {facts.request_id}")
    pdf.set_author(facts.office_name)
    pdf.set_lang("de")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    family, unicode = _fonts(pdf, facts)

    def t(text: str) -> str:
        return _text(unicode, text)

    pdf.add_page()
    pdf.set_font(family, "B", 14)
    pdf.multi_cell(0, 7, t(facts.office_name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 10)
    for line in _address(facts):
        pdf.cell(0, 5, t(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.set_font(family, "B", 18)
    pdf.cell(0, 10, "Quittung / Receipt", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    paid = facts.paid_at.astimezone(BERLIN)
    about = [
        ("Leistung / Service", facts.service_name),
        ("Termin / Appointment", facts.appointment_reference),
        ("Bezahlt am / Paid on", format_datetime(paid, "dd.MM.yyyy, HH:mm", locale="de")),
        ("Transaktion / Transaction", facts.transaction_id),
        ("Zahlungsauftrag / Payment request", facts.request_id),
    ]
    pdf.set_font(family, "", 10)
    for label, value in about:
        pdf.set_font(family, "B", 10)
        pdf.cell(72, 6, t(label))
        pdf.set_font(family, "", 10)
        pdf.multi_cell(0, 6, t(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)

    heading = FontFace(emphasis="BOLD", fill_color=(230, 230, 230))
    with pdf.table(
        col_widths=(82, 22, 33, 33),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=heading,
        line_height=5.5,
        padding=1.5,
    ) as table:
        top = table.row()
        for label in ("Position / Item", "Menge / Qty", "Einzelpreis / Unit", "Betrag / Amount"):
            top.cell(label)
        for item in facts.lines:
            keys = [
                f"Kassenzeichen: {item.kassenzeichen}" if item.kassenzeichen else "",
                f"Haushaltsstelle: {item.haushaltsstelle}" if item.haushaltsstelle else "",
            ]
            row = table.row()
            row.cell(t("\n".join([item.label, *[k for k in keys if k]])))
            row.cell(str(item.quantity))
            row.cell(t(euro(item.unit_cents)))
            row.cell(t(euro(item.total_cents)))
        total = table.row(style=FontFace(emphasis="BOLD"))
        total.cell("Gesamt / Total", colspan=3)
        total.cell(t(euro(facts.total_cents)))
    pdf.ln(8)
    pdf.set_font(family, "", 9)
    pdf.multi_cell(
        0,
        5,
        t(
            "Online bezahlt über die Zahlungsplattform der Stadt. Dieser Beleg wurde maschinell"
            " erstellt und ist ohne Unterschrift gültig.\n"
            "Paid online through the city's payment platform. This receipt was issued"
            " electronically and is valid without a signature."
        ),
        align="L",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())

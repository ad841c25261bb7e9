"""Composing the mails about a payment request: "payment" (pay later: the lines, the total and the
pay link with its deadline) and "receipt" (the receipt PDF attached), German or English."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from babel.dates import format_date, format_time

from hub.booking.timezone import BERLIN
from hub.notify.compose import environment, new_message, translations
from hub.notify.payment_mail import PAYMENT_MAILS
from hub.payments.receipt import euro


@dataclass(frozen=True)
class PaymentMailLine:
    """One line of the request as the mail lists it."""

    label_de: str
    label_en: str
    quantity: int
    unit_cents: int

    def label(self, lang: str) -> str:
        """The item's name in `lang` (German when there is no English one)."""
        return self.label_en if lang == "en" and self.label_en else self.label_de


@dataclass(frozen=True)
class PaymentMailFacts:
    """Everything a mail about one payment request says."""

    kind: str  # "payment" or "receipt"
    to: str
    name: str
    lang: str
    service_name: str
    lines: tuple[PaymentMailLine, ...]
    total_cents: int
    pay_url: str = ""  # payment: the signed link (hub.links.pay_url)
    expires_at: datetime | None = None  # payment: until when the link works
    paid_at: datetime | None = None  # receipt
    transaction_id: str = ""  # receipt
    receipt: bytes = b""  # receipt: the PDF
    receipt_name: str = "Quittung.pdf"


def _when(at: datetime, lang: str) -> dict[str, str]:
    local = at.astimezone(BERLIN)
    return {
        "date": format_date(local.date(), format="full", locale=lang),
        "time": format_time(local.time(), format="short", locale=lang),
    }


def compose_payment(
    facts: PaymentMailFacts, sender: str, stamp: datetime, message_key: str
) -> EmailMessage:
    """The complete message; `message_key` makes its Message-ID stable across retries."""
    if facts.kind not in PAYMENT_MAILS:
        raise ValueError(f"unknown payment mail kind {facts.kind!r}")
    lang = "en" if facts.lang == "en" else "de"
    gettext = translations(lang).gettext
    total = euro(facts.total_cents, lang)
    lines = [
        {
            "label": line.label(lang),
            "quantity": line.quantity,
            "unit": euro(line.unit_cents, lang),
            "amount": euro(line.unit_cents * line.quantity, lang),
        }
        for line in facts.lines
    ]
    context = {
        "facts": facts,
        "lines": lines,
        "total": total,
        "until": _when(facts.expires_at, lang) if facts.expires_at else None,
        "paid": _when(facts.paid_at, lang) if facts.paid_at else None,
    }
    if facts.kind == "payment":
        subject = gettext("Pay your fees: %(amount)s") % {"amount": total}
    else:
        subject = gettext("Your receipt: %(amount)s paid") % {"amount": total}
    message = new_message(subject, sender, facts.to, stamp, message_key)
    message["Content-Language"] = lang
    env = environment(lang)
    message.set_content(env.get_template("payment.txt").render(context))
    message.add_alternative(env.get_template("payment.html").render(context), subtype="html")
    if facts.kind == "receipt":
        if not facts.receipt:
            raise ValueError("a receipt mail needs the receipt")
        message.add_attachment(
            facts.receipt, maintype="application", subtype="pdf", filename=facts.receipt_name
        )
    return message

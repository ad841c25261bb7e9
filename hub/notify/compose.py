"""Composing e-mails about an appointment: text, HTML and a calendar file, German or English."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import cache
from pathlib import Path

from babel.dates import format_date, format_time
from babel.numbers import format_currency
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

from hub.booking.catalogue import Service
from hub.booking.timezone import BERLIN
from hub.notify.ics import appointment_calendar

TEMPLATES = Path(__file__).with_name("templates")
TRANSLATIONS = Path(__file__).parent.parent / "translations"
KINDS = ("hold", "confirmation", "rescheduled", "cancelled", "reminder")


@dataclass(frozen=True)
class MailFacts:
    """Everything a mail about one appointment says."""

    kind: str
    to: str
    name: str
    lang: str
    service: Service
    appointment_id: uuid.UUID
    start: datetime
    end: datetime
    manage_url: str
    join_url: str
    sequence: int = 0
    hold_until: datetime | None = None
    join_before_minutes: int = 15
    reason: str = ""  # why the office cancelled it (the cancellation mail says it)


@cache
def translations(lang: str) -> NullTranslations:
    """The hub's catalogue for `lang` ("de" or "en")."""
    return Translations.load(str(TRANSLATIONS), [lang])


@cache
def environment(lang: str) -> Environment:
    """The mail templates, translated into `lang`."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(  # type: ignore[attr-defined]  # added by jinja2.ext.i18n
        translations(lang), newstyle=True
    )
    return env


def _subject(lang: str, kind: str, when: dict[str, str]) -> str:
    gettext = translations(lang).gettext
    subjects = {
        "hold": gettext("Please confirm: video appointment on %(date)s at %(time)s"),
        "confirmation": gettext("Your video appointment on %(date)s at %(time)s"),
        "rescheduled": gettext("Your video appointment has moved to %(date)s at %(time)s"),
        "cancelled": gettext("Cancelled: your video appointment on %(date)s at %(time)s"),
        "reminder": gettext("Reminder: your video appointment on %(date)s at %(time)s"),
    }
    return subjects[kind] % when


def new_message(
    subject: str, sender: str, to: str, stamp: datetime, message_key: str
) -> EmailMessage:
    """A message with its headers; `message_key` makes its Message-ID stable across retries."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = format_datetime(stamp)
    message["Message-ID"] = make_msgid(idstring=message_key, domain="buergeramt-virtuell")
    return message


def compose(facts: MailFacts, sender: str, stamp: datetime, message_key: str) -> EmailMessage:
    """The complete message; `message_key` makes its Message-ID stable across retries."""
    if facts.kind not in KINDS:
        raise ValueError(f"unknown mail kind {facts.kind!r}")
    lang = "en" if facts.lang == "en" else "de"
    env = environment(lang)
    local = facts.start.astimezone(BERLIN)
    when = {
        "date": format_date(local.date(), format="full", locale=lang),
        "time": format_time(local.time(), format="short", locale=lang),
    }
    context = {
        "facts": facts,
        "service_name": facts.service.name(lang),
        "documents": facts.service.documents(lang),
        "fee": format_currency(facts.service.fee_cents / 100, "EUR", locale=lang)
        if facts.service.fee_cents
        else "",
        "minutes": facts.service.duration_minutes,
        "join_before": facts.join_before_minutes,
        "hold_until": format_time(
            facts.hold_until.astimezone(BERLIN).time(), format="short", locale=lang
        )
        if facts.hold_until
        else "",
        **when,
    }
    message = new_message(_subject(lang, facts.kind, when), sender, facts.to, stamp, message_key)
    message["Content-Language"] = lang
    message.set_content(env.get_template("mail.txt").render(context))
    message.add_alternative(env.get_template("mail.html").render(context), subtype="html")
    if facts.kind == "hold":  # not booked yet: no calendar entry
        return message
    calendar = appointment_calendar(
        facts.appointment_id,
        facts.service.name(lang),
        facts.join_url,
        facts.start,
        facts.end,
        stamp,
        facts.sequence,
        cancelled=facts.kind == "cancelled",
        url=facts.join_url,
    )
    message.add_attachment(
        calendar,
        maintype="text",
        subtype="calendar",
        filename="termin.ics",
        params={"method": "CANCEL" if facts.kind == "cancelled" else "PUBLISH"},
    )
    return message

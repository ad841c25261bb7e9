"""The mail to a citizen whose appointment a closure of the office cancelled ("office_closed").

Written into the outbox in the closure's own transaction (hub.operations.catalogue.add_closure),
so the appointment is cancelled and its citizen told, or neither. It is the one mail the citizen
gets about it: mails of the appointment still waiting (reminders, a confirmation not yet sent)
are withdrawn. It carries no manage link (the appointment no longer stands) but a link to book
the same service again (hub.links.booking_url), and a calendar file that removes the entry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from babel.dates import format_date, format_time
from sqlalchemy import Connection, update

from hub.booking.catalogue import Service
from hub.booking.timezone import BERLIN
from hub.notify.compose import KINDS, environment, new_message, translations
from hub.notify.ics import appointment_calendar
from hub.store.models import MailRow

MAILS = MailRow.__table__
CLOSURE_MAIL = "office_closed"


def enqueue_closure_mail(
    conn: Connection, appointment_id: uuid.UUID, now: datetime, revision: int
) -> None:
    """Withdraw the appointment's mails still waiting and schedule the closure mail for now."""
    conn.execute(
        update(MAILS)
        .where(
            MAILS.c.appointment_id == appointment_id,
            MAILS.c.status == "pending",
            MAILS.c.kind.in_(KINDS),
        )
        .values(status="cancelled")
    )
    conn.execute(
        MAILS.insert().values(
            appointment_id=appointment_id,
            kind=CLOSURE_MAIL,
            due_at=now,
            status="pending",
            attempts=0,
            last_error="",
            sealed_token="",  # no manage link: the appointment no longer stands
            revision=revision,
        )
    )


@dataclass(frozen=True)
class ClosureMailFacts:
    """What the closure mail says."""

    to: str
    name: str
    lang: str
    service: Service
    appointment_id: uuid.UUID
    start: datetime
    end: datetime
    book_url: str  # the booking page of the same service, in the mail's language
    sequence: int = 0


def compose_closure(
    facts: ClosureMailFacts, sender: str, stamp: datetime, message_key: str
) -> EmailMessage:
    """The complete message; `message_key` makes its Message-ID stable across retries."""
    lang = "en" if facts.lang == "en" else "de"
    local = facts.start.astimezone(BERLIN)
    context = {
        "facts": facts,
        "service_name": facts.service.name(lang),
        "date": format_date(local.date(), format="full", locale=lang),
        "time": format_time(local.time(), format="short", locale=lang),
        "minutes": facts.service.duration_minutes,
    }
    subject = translations(lang).gettext(
        "Cancelled: the citizens' office is closed on %(date)s"
    ) % {"date": context["date"]}
    message = new_message(subject, sender, facts.to, stamp, message_key)
    message["Content-Language"] = lang
    env = environment(lang)
    message.set_content(env.get_template("closed.txt").render(context))
    message.add_alternative(env.get_template("closed.html").render(context), subtype="html")
    calendar = appointment_calendar(
        facts.appointment_id,
        facts.service.name(lang),
        facts.book_url,
        facts.start,
        facts.end,
        stamp,
        facts.sequence,
        cancelled=True,
    )
    message.add_attachment(
        calendar,
        maintype="text",
        subtype="calendar",
        filename="termin.ics",
        params={"method": "CANCEL"},
    )
    return message

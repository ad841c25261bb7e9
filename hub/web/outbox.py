"""The demo's outbox page: mails written to the outbox folder, readable in the browser.

Only for the demo and laptops: it shows every mail with its links, so it is off unless
`outbox_page` is set, and then answers only requests from this machine.
"""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from babel.dates import format_datetime
from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue

from hub.booking.timezone import BERLIN
from hub.context import hub_settings
from hub.i18n import current_language

bp = Blueprint("outbox", __name__, template_folder="templates")
LOOPBACK = {"127.0.0.1", "::1"}


def _folder() -> Path:
    settings = hub_settings()
    if not settings.outbox_page or settings.smtp_host or request.remote_addr not in LOOPBACK:
        abort(404)
    return settings.effective_outbox_dir


def _read(path: Path) -> EmailMessage:
    return message_from_bytes(path.read_bytes(), policy=policy.default)


# When a mail went out, in Berlin time as people here write it (the header says UTC).
SENT_FORMAT = {"de": "dd.MM.yyyy, HH:mm", "en": "d MMM yyyy, HH:mm"}


def _sent(message: EmailMessage, lang: str) -> str:
    header = message["Date"]
    when = getattr(header, "datetime", None)
    if when is None or when.tzinfo is None:
        return str(header or "")
    return format_datetime(when, SENT_FORMAT[lang], tzinfo=BERLIN, locale=lang)


@bp.get("/outbox")
def listing() -> ResponseReturnValue:
    """Newest mails first."""
    folder = _folder()
    paths = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)
    lang = current_language()
    mails = [(p.stem, message, _sent(message, lang)) for p in paths[:200] for message in [_read(p)]]
    return render_template("outbox.html", mails=mails, lang=lang)


@bp.get("/outbox/<name>")
def show(name: str) -> ResponseReturnValue:
    """One mail's text, with its links clickable."""
    path = _folder() / f"{name}.eml"
    if "/" in name or not path.is_file():
        abort(404)
    message = _read(path)
    body = message.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    lang = current_language()
    return render_template(
        "outbox_mail.html", message=message, text=text, lang=lang, sent=_sent(message, lang)
    )

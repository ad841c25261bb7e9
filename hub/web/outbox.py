"""The demo's outbox page: mails written to the outbox folder, readable in the browser.

Only for the demo and laptops: it shows every mail with its links, so it is off unless
`outbox_page` is set, and then answers only requests from this machine.
"""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale

from hub.context import hub_settings

bp = Blueprint("outbox", __name__, template_folder="templates")
LOOPBACK = {"127.0.0.1", "::1"}


def _folder() -> Path:
    settings = hub_settings()
    if not settings.outbox_page or settings.smtp_host or request.remote_addr not in LOOPBACK:
        abort(404)
    return settings.effective_outbox_dir


def _read(path: Path) -> EmailMessage:
    return message_from_bytes(path.read_bytes(), policy=policy.default)  # type: ignore[return-value]


@bp.get("/outbox")
def listing() -> ResponseReturnValue:
    """Newest mails first."""
    folder = _folder()
    paths = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)
    mails = [(p.stem, _read(p)) for p in paths[:200]]
    return render_template("outbox.html", mails=mails, lang=str(get_locale() or "de"))


@bp.get("/outbox/<name>")
def show(name: str) -> ResponseReturnValue:
    """One mail's text, with its links clickable."""
    path = _folder() / f"{name}.eml"
    if "/" in name or not path.is_file():
        abort(404)
    message = _read(path)
    body = message.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    return render_template(
        "outbox_mail.html", message=message, text=text, lang=str(get_locale() or "de")
    )

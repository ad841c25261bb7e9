"""One spelling per e-mail address, so every per-address limit counts an address once."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


class InvalidEmail(ValueError):
    """Not a usable e-mail address; the message says why."""


def normalize_email(raw: str) -> str:
    """The address in one canonical form: NFC, the domain in Unicode (punycode decoded), lower case.

    `erika@xn--mller-kva.de`, `Erika@MÜLLER.de` and `erika@mu\u0308ller.de` are one address.
    """
    try:
        # Lower case throughout: mailbox names are case-insensitive in practice.
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from None

"""Secrets in manage and join links: 256 random bits, stored only as hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

TOKEN_BYTES = 32  # 256 bits, well above the 128 the design asks for


def new_token() -> str:
    """A fresh URL-safe secret."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The stored form of a token. Tokens carry 256 random bits, so one SHA-256 round suffices."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_ref(token: str) -> str:
    """A short, stable name for a token that is safe to log: the link itself must never reach a
    log file (logs are kept longer and read by more people than the database), yet an operator
    can still match log lines of one appointment with each other and with the stored hash."""
    return hash_token(token)[:12]


def redact_path(path: str) -> str:
    """`path` with every segment that looks like a token replaced by `~<token_ref>`, for logs."""
    return "/".join(
        f"~{token_ref(part)}" if looks_like_token(part) else part for part in path.split("/")
    )


_TOKEN_IN_TEXT = re.compile(r"(?<![\w-])[\w-]{40,64}(?![\w-])", re.ASCII)


def redact_tokens(text: str) -> str:
    """`text` with every run that looks like a token replaced by `~<token_ref>`: for log lines
    that may quote a request (a server error printing its path or environment)."""
    return _TOKEN_IN_TEXT.sub(lambda m: f"~{token_ref(m.group())}", text)


def looks_like_token(token: str) -> bool:
    """Cheap shape check before touching the database."""
    return 40 <= len(token) <= 64 and all(c.isalnum() or c in "-_" for c in token)


def join_token_for(manage_token: str) -> str:
    """The join secret derived from the manage secret.

    Whoever holds the manage link can always be shown the join link again, while the join link
    (forwarded, say, to a family member) reveals nothing about the manage link.
    """
    digest = hmac.new(manage_token.encode(), b"join", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

"""Why a document or an upload is refused, as a stable code the front-ends translate."""

from __future__ import annotations

from typing import Literal

RefusalCode = Literal[
    "too_large",
    "appointment_full",
    "unsupported_type",
    "damaged",
    "infected",
    "bad_offset",
    "unknown_upload",
    "unknown_document",
    "not_allowed",
    "scanner_unavailable",
    "reason_required",  # asking for a document again without a reason (or one too long)
]


class DocumentRefused(Exception):
    """A refusal: `code` for programs (one of RefusalCode), the message for logs and people.

    `received` is set with `bad_offset`: the bytes the hub holds, where the client resumes.
    """

    def __init__(self, code: RefusalCode, message: str, *, received: int | None = None) -> None:
        super().__init__(message)
        self.code: RefusalCode = code
        self.received = received

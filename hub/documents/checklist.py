"""The rules of an appointment's documents: where a checklist item stands, who may review or
delete, and what a clerk's request to send again needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from hub.documents.errors import DocumentRefused

ItemState = Literal["missing", "uploaded", "accepted", "again"]
DocumentState = Literal["uploaded", "accepted", "again"]
DOCUMENT_STATES: tuple[DocumentState, ...] = ("uploaded", "accepted", "again")
Sender = Literal["citizen", "clerk"]
SENDERS: tuple[Sender, ...] = ("citizen", "clerk")
MAX_REASON = 500


@dataclass(frozen=True)
class Filed:
    """What the rules need of one document filed under a checklist item."""

    state: DocumentState
    reason: str | None
    at: datetime  # when it got its state: reviewed, or else uploaded

    @classmethod
    def of(cls, state: str, reason: str | None, at: datetime) -> Filed:
        """From a stored row's strings (the database's check constraint keeps them valid)."""
        if state not in DOCUMENT_STATES:
            raise ValueError(f"not a document state: {state!r}")
        return cls(state, reason, at)


def item_state(filed: Sequence[Filed]) -> tuple[ItemState, str | None]:
    """Where an item stands: accepted once any of its documents is; otherwise as the latest
    event says: a request to send again, or an upload after it (at the same instant, the
    upload answers the request); missing without any. The reason comes with "again"."""
    if not filed:
        return "missing", None
    if any(f.state == "accepted" for f in filed):
        return "accepted", None
    latest = max(filed, key=lambda f: (f.at, f.state == "uploaded"))
    return latest.state, latest.reason if latest.state == "again" else None


def is_staff(actor: str) -> bool:
    """A clerk (`clerk:<id>`) or an admin, as opposed to the citizen."""
    return actor == "admin" or actor.startswith("clerk:")


def check_review(actor: str, sender: str, accepted: bool, reason: str) -> str | None:
    """The reason to keep for a clerk's review, or a refusal: only staff review, only what the
    citizen sent, and asking again needs a reason of at most MAX_REASON characters."""
    if not is_staff(actor):
        raise DocumentRefused("not_allowed", "only a clerk reviews documents")
    if sender != "citizen":
        raise DocumentRefused("not_allowed", "only the citizen's documents are reviewed")
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise DocumentRefused("reason_required", f"the reason is longer than {MAX_REASON}")
    if accepted:
        return None
    if not reason:
        raise DocumentRefused("reason_required", "asking for a document again needs a reason")
    return reason


def check_delete(actor: str, sender: str, state: str) -> None:
    """Staff delete any document; the citizen only their own ones not accepted yet."""
    if is_staff(actor):
        return
    if sender != "citizen" or state == "accepted":
        raise DocumentRefused("not_allowed", "this document cannot be deleted by the citizen")

"""Documents of an appointment as both parties see them: files that changed hands (never their
content: that goes over HTTP), and the service's checklist of what to bring."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from protocol.base import News
from protocol.limits import AppointmentId

Sender = Literal["citizen", "clerk"]
DocumentState = Literal["uploaded", "accepted", "again"]
ItemState = Literal["missing", "uploaded", "accepted", "again"]


class DocumentView(News):
    """One file of the appointment: who sent it, and what the clerk made of it (`again`: please
    send it again, with the clerk's `reason`)."""

    id: str
    item: int | None  # the checklist entry it answers, if any
    name: str
    media_type: str
    size: int
    sender: Sender
    state: DocumentState
    reason: str | None
    created_at: str  # ISO 8601, Europe/Berlin


class ChecklistItem(News):
    """One entry of the service's checklist and where it stands."""

    index: int
    name_de: str
    name_en: str
    state: ItemState
    reason: str | None
    documents: list[str] = Field(default_factory=list)


class Documents(News):
    """Everything of the appointment's documents, whenever anything of them changes (a file
    came in, was reviewed or deleted): fetch a file over HTTP when it is wanted."""

    documents: list[DocumentView]
    checklist: list[ChecklistItem]


class CallDocuments(Documents):
    """The same, to an appliance, naming the appointment."""

    appointment: AppointmentId


class Completeness(News):
    """How much of the checklist is there (for the clerk's day list and lobby)."""

    done: int
    required: int

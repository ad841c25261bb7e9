"""Documents of an appointment, the operations front-ends call: resumable uploads, adding a
file, reading one back as a stream, the checklist and completeness, the clerk's review,
deletion (and, from document_retention, deletion on time).

Every file takes the way of document_intake (kind by content, virus scan, made harmless,
encrypted). A refusal is a DocumentRefused with a stable code; after one, nothing of the file
is kept. Front-ends call `configure(store, settings)` once (create_app does), then these.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Row

from hub.booking.tokens import hash_token
from hub.documents import crypto
from hub.documents.checklist import (
    SENDERS,
    Filed,
    ItemState,
    check_delete,
    check_review,
    item_state,
)
from hub.documents.errors import DocumentRefused
from hub.documents.kinds import display_name
from hub.operations.document_intake import (
    check_allowance,
    check_item,
    check_size,
    citizen_bytes,
    ingest,
    open_appointment,
    upload_row,
    work_file,
)
from hub.operations.document_retention import forget_documents
from hub.operations.document_store import (
    APPOINTMENTS,
    DOCUMENTS,
    UPLOADS,
    Document,
    DocumentConfig,
    blobs_for,
    config_of,
    configure,
    document_of,
    drop_uploads,
    log_access,
    purge,
)
from hub.store import Store
from hub.store.blobs import MissingRecords
from hub.store.engine import retrying

__all__ = [
    "ChecklistEntry",
    "Document",
    "DocumentConfig",
    "DocumentRefused",
    "UploadState",
    "add_file",
    "append",
    "begin_upload",
    "cancel",
    "checklist",
    "completeness",
    "config_of",
    "configure",
    "delete_document",
    "documents",
    "finish",
    "forget_documents",
    "manage_appointment",
    "open_document",
    "review",
    "rewrap_keys",
    "upload_state",
]

log = logging.getLogger("hub.documents")


# ---- values ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadState:
    """How far an upload has come: `received` of `size` bytes."""

    id: uuid.UUID
    received: int
    size: int
    item: int | None
    name: str


@dataclass(frozen=True)
class ChecklistEntry:
    """One document the service asks for, and where it stands."""

    index: int
    name_de: str
    name_en: str
    state: ItemState
    reason: str | None
    document_ids: tuple[uuid.UUID, ...]


def _upload_state(row: Row[Any]) -> UploadState:
    return UploadState(row.id, row.received, row.size, row.item, row.name)


def manage_appointment(store: Store, manage_token: str) -> uuid.UUID | None:
    """The id of the appointment behind a manage link, or None: only the id, in one query and
    without an ORM session (an upload asks this for every piece it sends)."""
    query = select(APPOINTMENTS.c.id).where(
        APPOINTMENTS.c.manage_token_hash == hash_token(manage_token)
    )

    def read() -> uuid.UUID | None:
        with store.engine.connect() as conn:
            return conn.scalar(query)

    return retrying(read)


# ---- uploads ---------------------------------------------------------------------------------


def begin_upload(
    store: Store,
    appointment_id: uuid.UUID,
    *,
    name: str,
    size: int,
    item: int | None,
    sender: str,
    now: datetime,
) -> UploadState:
    """Start an upload of `size` bytes; refused at once when it could never be kept."""
    if sender not in SENDERS:
        raise ValueError(f"sender must be one of {SENDERS}, not {sender!r}")
    config = config_of(store)
    check_size(size, config.limits)
    upload_id = uuid.uuid4()
    shown = display_name(name)
    # Read before the transaction: on SQLite a second one would wait for ours to end.
    services = store.catalogue().services
    with store.engine.begin() as conn:
        service_id = open_appointment(conn, appointment_id, now, config.retention)
        check_item(services, service_id, item)
        if sender == "citizen":
            check_allowance(citizen_bytes(conn, appointment_id, now), size, config.limits)
        conn.execute(
            insert(UPLOADS).values(
                id=upload_id,
                appointment_id=appointment_id,
                item=item,
                name=shown,
                sender=sender,
                size=size,
                received=0,
                records=0,
                wrapped_key=crypto.wrap(config.wrapping, crypto.new_file_key(), upload_id),
                storage=config.storage,
                created_at=now,
                expires_at=now + config.upload_lifetime,
            )
        )
    return UploadState(upload_id, 0, size, item, shown)


def upload_state(store: Store, appointment_id: uuid.UUID, upload_id: uuid.UUID) -> UploadState:
    """How far an upload has come: where a client resumes after a dropped connection."""
    with store.engine.connect() as conn:
        return _upload_state(upload_row(conn, appointment_id, upload_id, None, lock=False))


def append(
    store: Store,
    appointment_id: uuid.UUID,
    upload_id: uuid.UUID,
    offset: int,
    chunk: bytes,
    now: datetime,
) -> UploadState:
    """Add `chunk` at byte `offset`, which must be what the hub holds so far (`bad_offset`
    says how much that is); kept encrypted at once, in the same transaction."""
    config = config_of(store)
    with store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # A part need not wait for the disk: should PostgreSQL itself crash, the last
            # parts go together with the `received` that counts them (one transaction), and
            # the client, told `bad_offset` with what is held, sends them again. The
            # document (in `finish`) commits as every other transaction does.
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO off")
        row = upload_row(conn, appointment_id, upload_id, now, lock=True)
        received, size = row.received, row.size
        if offset != received:
            raise DocumentRefused(
                "bad_offset", f"the hub holds {received} bytes, not {offset}", received=received
            )
        if received + len(chunk) > size:
            raise DocumentRefused("too_large", f"more bytes than the {size} declared")
        if not chunk:
            return _upload_state(row)
        key = crypto.unwrap(config.wrapping, row.wrapped_key, upload_id)
        first = row.records
        pieces = range(0, len(chunk), crypto.CHUNK)
        records = (
            crypto.seal(
                key,
                upload_id,
                first + n,
                chunk[start : start + crypto.CHUNK],
                last=received + min(start + crypto.CHUNK, len(chunk)) == size,
            )
            for n, start in enumerate(pieces)
        )
        written = blobs_for(store, row.storage).write(conn, upload_id, first, records)
        conn.execute(
            update(UPLOADS)
            .where(UPLOADS.c.id == upload_id)
            .values(
                received=received + len(chunk),
                records=first + written,
                expires_at=now + config.upload_lifetime,
            )
        )
    return UploadState(upload_id, received + len(chunk), size, row.item, row.name)


def cancel(store: Store, appointment_id: uuid.UUID, upload_id: uuid.UUID) -> None:
    """Give up an upload: its parts are deleted."""
    with store.engine.begin() as conn:
        row = upload_row(conn, appointment_id, upload_id, None, lock=True)
        storages = drop_uploads(store, conn, [row])
    purge(storages, [upload_id])


def finish(
    store: Store, appointment_id: uuid.UUID, upload_id: uuid.UUID, *, actor: str, now: datetime
) -> Document:
    """Turn a complete upload into a document: reassembled into a private file, then the
    pipeline of `add_file`. The upload is gone afterwards, kept as a document or refused."""
    config = config_of(store)
    with store.engine.connect() as conn:
        row = upload_row(conn, appointment_id, upload_id, now, lock=False)
    received, size = row.received, row.size
    if received != size:
        raise DocumentRefused(
            "bad_offset", f"the upload holds {received} of {size} bytes", received=received
        )
    try:
        with work_file(config) as whole:
            key = crypto.unwrap(config.wrapping, row.wrapped_key, upload_id)
            parts = blobs_for(store, row.storage).read(upload_id, row.records)
            try:
                with whole.open("wb") as file:
                    for data in crypto.decrypt(key, upload_id, parts):
                        file.write(data)
            except (crypto.Undecryptable, MissingRecords) as exc:
                log.error("upload %s cannot be read back: %s", upload_id, exc)
                raise DocumentRefused("damaged", "the upload was damaged at the hub") from None
            return ingest(
                store,
                appointment_id,
                whole,
                name=row.name,
                item=row.item,
                sender=row.sender,
                actor=actor,
                now=now,
                upload=row,
            )
    except DocumentRefused as refusal:
        if refusal.code != "unknown_upload":
            with contextlib.suppress(DocumentRefused):
                cancel(store, appointment_id, upload_id)  # a refused file keeps nothing
        raise


def add_file(
    store: Store,
    appointment_id: uuid.UUID,
    path: Path,
    *,
    name: str,
    item: int | None,
    sender: str,
    actor: str,
    now: datetime,
) -> Document:
    """Keep the file at `path` (a clerk's scan, say) as a document of the appointment: the
    same checks as an upload. The file itself is left where it is."""
    if sender not in SENDERS:
        raise ValueError(f"sender must be one of {SENDERS}, not {sender!r}")
    return ingest(
        store, appointment_id, path, name=name, item=item, sender=sender, actor=actor, now=now
    )


# ---- reading ---------------------------------------------------------------------------------


def documents(store: Store, appointment_id: uuid.UUID) -> list[Document]:
    """The appointment's documents, oldest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(DOCUMENTS)
            .where(DOCUMENTS.c.appointment_id == appointment_id)
            .order_by(DOCUMENTS.c.created_at, DOCUMENTS.c.id)
        ).all()
    return [document_of(r) for r in rows]


def _checklist_of(
    names_de: Sequence[str], names_en: Sequence[str], docs: Sequence[Document]
) -> list[ChecklistEntry]:
    by_item: dict[int, list[Document]] = defaultdict(list)
    for doc in docs:
        if doc.item is not None and doc.sender == "citizen":
            by_item[doc.item].append(doc)
    entries = []
    for index, name_de in enumerate(names_de):
        filed = by_item.get(index, [])
        state, reason = item_state(
            [Filed.of(d.state, d.reason, d.reviewed_at or d.created_at) for d in filed]
        )
        name_en = names_en[index] if index < len(names_en) else name_de
        entries.append(
            ChecklistEntry(index, name_de, name_en, state, reason, tuple(d.id for d in filed))
        )
    return entries


def _service_of(store: Store, appointment_id: uuid.UUID) -> tuple[tuple[str, ...], tuple[str, ...]]:
    with store.engine.connect() as conn:
        service_id = conn.scalar(
            select(APPOINTMENTS.c.service_id).where(APPOINTMENTS.c.id == appointment_id)
        )
    service = store.catalogue().services.get(service_id) if service_id else None
    return (service.documents_de, service.documents_en) if service else ((), ())


def checklist(store: Store, appointment_id: uuid.UUID) -> list[ChecklistEntry]:
    """The documents the appointment's service asks for, each with where it stands."""
    names_de, names_en = _service_of(store, appointment_id)
    return _checklist_of(names_de, names_en, documents(store, appointment_id))


def completeness(
    store: Store, appointment_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """(items uploaded or accepted, items asked for) per appointment, for a day list: two
    queries whatever the number of appointments."""
    ids = list(appointment_ids)
    if not ids:
        return {}
    with store.engine.connect() as conn:
        services = dict(
            conn.execute(
                select(APPOINTMENTS.c.id, APPOINTMENTS.c.service_id).where(
                    APPOINTMENTS.c.id.in_(ids)
                )
            ).all()
        )
        filed = conn.execute(
            select(
                DOCUMENTS.c.appointment_id,
                DOCUMENTS.c.item,
                DOCUMENTS.c.state,
                DOCUMENTS.c.reason,
                DOCUMENTS.c.created_at,
                DOCUMENTS.c.reviewed_at,
            ).where(
                DOCUMENTS.c.appointment_id.in_(ids),
                DOCUMENTS.c.item.is_not(None),
                DOCUMENTS.c.sender == "citizen",
            )
        ).all()
    per_item: dict[tuple[uuid.UUID, int], list[Filed]] = defaultdict(list)
    for f in filed:
        per_item[(f.appointment_id, f.item)].append(
            Filed.of(f.state, f.reason, f.reviewed_at or f.created_at)
        )
    catalogue = store.catalogue().services
    result = {}
    for appointment_id in ids:
        service = catalogue.get(services.get(appointment_id, ""))
        required = len(service.documents_de) if service else 0
        done = sum(
            item_state(per_item.get((appointment_id, i), []))[0] in ("uploaded", "accepted")
            for i in range(required)
        )
        result[appointment_id] = (done, required)
    return result


def _document_row(conn: Connection, appointment_id: uuid.UUID, document_id: uuid.UUID) -> Row[Any]:
    row = conn.execute(
        select(DOCUMENTS).where(
            DOCUMENTS.c.id == document_id, DOCUMENTS.c.appointment_id == appointment_id
        )
    ).one_or_none()
    if row is None:  # another appointment's document looks exactly like a missing one
        raise DocumentRefused("unknown_document", "no such document")
    return row


def open_document(
    store: Store,
    appointment_id: uuid.UUID,
    document_id: uuid.UUID,
    *,
    actor: str,
    action: Literal["view", "download"] = "download",
    now: datetime,
) -> tuple[Document, Iterator[bytes]]:
    """The document and its content as a stream of decrypted chunks (one record in memory at a
    time); the access is logged before the first byte."""
    if action not in ("view", "download"):
        raise ValueError(f"action must be view or download, not {action!r}")
    config = config_of(store)
    with store.engine.begin() as conn:
        row = _document_row(conn, appointment_id, document_id)
        log_access(conn, appointment_id, document_id, actor, action, now)
    key = crypto.unwrap(config.wrapping, row.wrapped_key, document_id)
    records = blobs_for(store, row.storage).read(document_id, row.records)
    return document_of(row), crypto.decrypt(key, document_id, records)


# ---- the clerk's review, deletion ------------------------------------------------------------


def review(
    store: Store,
    appointment_id: uuid.UUID,
    document_id: uuid.UUID,
    *,
    accepted: bool,
    reason: str | None = None,
    actor: str,
    now: datetime,
) -> Document:
    """The clerk accepts a document of the citizen or asks for it again, saying why."""
    with store.engine.begin() as conn:
        row = _document_row(conn, appointment_id, document_id)
        kept_reason = check_review(actor, row.sender, accepted, reason or "")
        state = "accepted" if accepted else "again"
        conn.execute(
            update(DOCUMENTS)
            .where(DOCUMENTS.c.id == document_id)
            .values(state=state, reason=kept_reason, reviewed_at=now)
        )
        log_access(conn, appointment_id, document_id, actor, "review", now, state)
        row = _document_row(conn, appointment_id, document_id)
    return document_of(row)


def delete_document(
    store: Store, appointment_id: uuid.UUID, document_id: uuid.UUID, *, actor: str, now: datetime
) -> None:
    """Delete a document: staff any, the citizen their own ones not yet accepted."""
    with store.engine.begin() as conn:
        row = _document_row(conn, appointment_id, document_id)
        check_delete(actor, row.sender, row.state)
        blobs = blobs_for(store, row.storage)
        conn.execute(delete(DOCUMENTS).where(DOCUMENTS.c.id == document_id))
        blobs.drop(conn, [document_id])
        log_access(conn, appointment_id, document_id, actor, "delete", now)
    blobs.purge([document_id])


def rewrap_keys(store: Store, old_secret: str) -> int:
    """After the hub's secret key changed: wrap every file key (documents and uploads) that
    `old_secret` wrapped under the configured key instead; how many. Keys already under the
    configured one stay; one under neither stops it (Undecryptable) with nothing changed."""
    config = config_of(store)
    old = crypto.wrapping_key(old_secret)
    changed = 0
    with store.engine.begin() as conn:
        for table in (DOCUMENTS, UPLOADS):
            for row in conn.execute(select(table.c.id, table.c.wrapped_key)).all():
                try:
                    crypto.unwrap(config.wrapping, row.wrapped_key, row.id)
                    continue  # already under the current secret
                except crypto.Undecryptable:
                    key = crypto.unwrap(old, row.wrapped_key, row.id)
                wrapped = crypto.wrap(config.wrapping, key, row.id)
                conn.execute(update(table).where(table.c.id == row.id).values(wrapped_key=wrapped))
                changed += 1
    return changed

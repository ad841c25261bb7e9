"""Documents of an appointment: resumable uploads, the pipeline every file passes (recognised by
content, virus scan, made harmless, encrypted into the storage), reading them back as a stream,
the checklist, the clerk's review, the access log and deletion on time.

A refusal is a DocumentRefused with a stable code; after one, nothing of the file is kept.
Front-ends call `configure(store, settings)` once (create_app does), then these functions.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
import uuid
import weakref
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Row

from hub.booking.catalogue import Service
from hub.config import Settings
from hub.documents import crypto
from hub.documents.checklist import (
    SENDERS,
    Filed,
    ItemState,
    check_delete,
    check_review,
    item_state,
)
from hub.documents.clamd import Clamd
from hub.documents.errors import DocumentRefused
from hub.documents.kinds import HEAD_BYTES, Limits, display_name, sniff
from hub.documents.sanitise import sanitise
from hub.offload import off_loop
from hub.store import Store
from hub.store.blobs import Blobs, FolderBlobs, MissingRecords, StorageName, open_blobs
from hub.store.models import (
    AppointmentRow,
    DocumentAccessRow,
    DocumentRow,
    DocumentUploadRow,
)

__all__ = [
    "ChecklistEntry",
    "Document",
    "DocumentRefused",
    "UploadState",
    "add_file",
    "append",
    "begin_upload",
    "cancel",
    "checklist",
    "completeness",
    "configure",
    "delete_document",
    "documents",
    "finish",
    "forget_documents",
    "open_document",
    "review",
    "upload_state",
]

log = logging.getLogger("hub.documents")
APPOINTMENTS = AppointmentRow.__table__
DOCUMENTS = DocumentRow.__table__
UPLOADS = DocumentUploadRow.__table__
ACCESS = DocumentAccessRow.__table__
Action = Literal["upload", "view", "download", "review", "delete"]
# Work files older than this are left over from a crashed process (a file takes seconds).
STALE_SECONDS = 24 * 3600


# ---- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentConfig:
    """What the document operations need from the settings."""

    limits: Limits
    storage: StorageName
    folder: Path
    work: Path  # private folder for files while they are checked (plaintext, briefly)
    wrapping: bytes = b""  # the key that wraps file keys
    clamd: str | None = None
    upload_lifetime: timedelta = timedelta(hours=24)
    retention: timedelta = timedelta(days=7)

    @classmethod
    def of(cls, settings: Settings) -> DocumentConfig:
        """The configuration `settings` describe."""
        return cls(
            limits=Limits.from_mb(
                settings.documents_max_file_mb, settings.documents_max_appointment_mb
            ),
            storage=settings.documents_storage,
            folder=settings.effective_documents_folder,
            work=settings.data_dir / "documents-work",
            wrapping=crypto.wrapping_key(settings.effective_secret_key()),
            clamd=settings.clamd_socket,
            upload_lifetime=timedelta(hours=settings.documents_upload_hours),
            retention=timedelta(days=settings.documents_retention_days),
        )


_CONFIGS: weakref.WeakKeyDictionary[Store, DocumentConfig] = weakref.WeakKeyDictionary()


def configure(store: Store, settings: Settings | DocumentConfig) -> DocumentConfig:
    """Give `store` its document settings (storage, limits, keys, scanner)."""
    config = settings if isinstance(settings, DocumentConfig) else DocumentConfig.of(settings)
    _CONFIGS[store] = config
    return config


def config_of(store: Store) -> DocumentConfig:
    """The document settings of `store`."""
    try:
        return _CONFIGS[store]
    except KeyError:
        raise RuntimeError(
            "documents are not configured for this store: call"
            " hub.operations.documents.configure(store, settings) first"
        ) from None


def _blobs(store: Store, name: StorageName | str) -> Blobs:
    """The storage called `name` (a row names where it lies; the setting may have changed)."""
    config = config_of(store)
    return open_blobs("folder" if name == "folder" else "database", store.engine, config.folder)


# ---- values ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """A stored document as the parties see it."""

    id: uuid.UUID
    appointment_id: uuid.UUID
    item: int | None
    name: str
    media_type: str
    size: int
    sender: str
    state: str
    reason: str | None
    created_at: datetime
    reviewed_at: datetime | None = None


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


def _document(row: Row[Any]) -> Document:
    return Document(
        id=row.id,
        appointment_id=row.appointment_id,
        item=row.item,
        name=row.name,
        media_type=row.media_type,
        size=row.size,
        sender=row.sender,
        state=row.state,
        reason=row.reason,
        created_at=row.created_at,
        reviewed_at=row.reviewed_at,
    )


def _upload_state(row: Row[Any]) -> UploadState:
    return UploadState(row.id, row.received, row.size, row.item, row.name)


# ---- shared checks ---------------------------------------------------------------------------


def _log(
    conn: Connection,
    appointment_id: uuid.UUID,
    document_id: uuid.UUID | None,
    actor: str,
    action: Action,
    now: datetime,
    detail: str = "",
) -> None:
    conn.execute(
        insert(ACCESS).values(
            appointment_id=appointment_id,
            document_id=document_id,
            actor=actor[:64],
            action=action,
            detail=detail[:200],
            at=now,
        )
    )


def _open_appointment(
    conn: Connection, appointment_id: uuid.UUID, now: datetime, retention: timedelta
) -> str:
    """Lock the appointment for a new file and return its service; refused when it is
    withdrawn or its documents are past their retention period."""
    row = conn.execute(
        select(APPOINTMENTS.c.service_id, APPOINTMENTS.c.status, APPOINTMENTS.c.end_at)
        .where(APPOINTMENTS.c.id == appointment_id)
        .with_for_update()
    ).one_or_none()
    if row is None:
        raise DocumentRefused("not_allowed", "no such appointment")
    if row.status.withdrawn:
        raise DocumentRefused("not_allowed", "the appointment is cancelled")
    if row.end_at + retention <= now:
        raise DocumentRefused("not_allowed", "the appointment's documents are deleted already")
    return str(row.service_id)


def _check_item(services: Mapping[str, Service], service_id: str, item: int | None) -> None:
    if item is None:
        return
    service = services.get(service_id)
    count = len(service.documents_de) if service else 0
    if not 0 <= item < count:
        raise DocumentRefused("not_allowed", f"the service has no checklist item {item}")


def _citizen_bytes(conn: Connection, appointment_id: uuid.UUID, now: datetime) -> int:
    """What the citizen's files take of the appointment's allowance: stored documents and the
    declared size of uploads under way."""
    stored = conn.scalar(
        select(func.coalesce(func.sum(DOCUMENTS.c.size), 0)).where(
            DOCUMENTS.c.appointment_id == appointment_id, DOCUMENTS.c.sender == "citizen"
        )
    )
    pending = conn.scalar(
        select(func.coalesce(func.sum(UPLOADS.c.size), 0)).where(
            UPLOADS.c.appointment_id == appointment_id,
            UPLOADS.c.sender == "citizen",
            UPLOADS.c.expires_at > now,
        )
    )
    return int(stored or 0) + int(pending or 0)


def _check_size(size: int, limits: Limits) -> None:
    if size < 1:
        raise DocumentRefused("damaged", "the file is empty")
    if size > limits.max_file:
        raise DocumentRefused(
            "too_large", f"the file is larger than {limits.max_file // (1024 * 1024)} MB"
        )


def _check_allowance(used: int, size: int, limits: Limits) -> None:
    if used + size > limits.max_appointment:
        raise DocumentRefused(
            "appointment_full",
            f"the appointment's files would exceed {limits.max_appointment // (1024 * 1024)} MB",
        )


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
    _check_size(size, config.limits)
    upload_id = uuid.uuid4()
    shown = display_name(name)
    # Read before the transaction: on SQLite a second one would wait for ours to end.
    services = store.catalogue().services
    with store.engine.begin() as conn:
        service_id = _open_appointment(conn, appointment_id, now, config.retention)
        _check_item(services, service_id, item)
        if sender == "citizen":
            _check_allowance(_citizen_bytes(conn, appointment_id, now), size, config.limits)
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


def _upload_row(
    conn: Connection, appointment_id: uuid.UUID, upload_id: uuid.UUID, now: datetime, lock: bool
) -> Row[Any]:
    query = select(UPLOADS).where(
        UPLOADS.c.id == upload_id,
        UPLOADS.c.appointment_id == appointment_id,
        UPLOADS.c.expires_at > now,
    )
    row = conn.execute(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        raise DocumentRefused("unknown_upload", "no such upload (finished, cancelled or expired)")
    return row


def upload_state(store: Store, appointment_id: uuid.UUID, upload_id: uuid.UUID) -> UploadState:
    """How far an upload has come: where a client resumes after a dropped connection."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(UPLOADS).where(
                UPLOADS.c.id == upload_id, UPLOADS.c.appointment_id == appointment_id
            )
        ).one_or_none()
    if row is None:
        raise DocumentRefused("unknown_upload", "no such upload (finished, cancelled or expired)")
    return _upload_state(row)


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
        row = _upload_row(conn, appointment_id, upload_id, now, lock=True)
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
        written = _blobs(store, row.storage).write(conn, upload_id, first, records)
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


def _drop_uploads(store: Store, conn: Connection, rows: Sequence[Row[Any]]) -> list[Blobs]:
    """Delete upload rows and their parts (in `conn`); the storages to purge after commit."""
    if not rows:
        return []
    ids = [r.id for r in rows]
    conn.execute(delete(UPLOADS).where(UPLOADS.c.id.in_(ids)))
    storages = []
    for name in {r.storage for r in rows}:
        blobs = _blobs(store, name)
        blobs.drop(conn, ids)
        storages.append(blobs)
    return storages


def _purge(storages: Iterable[Blobs], ids: Collection[uuid.UUID]) -> None:
    for blobs in storages:
        blobs.purge(ids)


def cancel(store: Store, appointment_id: uuid.UUID, upload_id: uuid.UUID) -> None:
    """Give up an upload: its parts are deleted."""
    with store.engine.begin() as conn:
        row = conn.execute(
            select(UPLOADS).where(
                UPLOADS.c.id == upload_id, UPLOADS.c.appointment_id == appointment_id
            )
        ).one_or_none()
        if row is None:
            raise DocumentRefused("unknown_upload", "no such upload")
        storages = _drop_uploads(store, conn, [row])
    _purge(storages, [upload_id])


@contextlib.contextmanager
def _work_file(config: DocumentConfig) -> Iterator[Path]:
    """A private file (mode 0600, in a 0700 folder) that is removed afterwards, whatever
    happens: documents are in plaintext while they are checked."""
    config.work.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, name = tempfile.mkstemp(dir=config.work, prefix="doc.")
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def finish(
    store: Store, appointment_id: uuid.UUID, upload_id: uuid.UUID, *, actor: str, now: datetime
) -> Document:
    """Turn a complete upload into a document: reassembled into a private file, then the
    pipeline of `add_file`. The upload is gone afterwards, kept as a document or refused."""
    config = config_of(store)
    with store.engine.connect() as conn:
        row = _upload_row(conn, appointment_id, upload_id, now, lock=False)
    received, size = row.received, row.size
    if received != size:
        raise DocumentRefused(
            "bad_offset", f"the upload holds {received} of {size} bytes", received=received
        )
    try:
        with _work_file(config) as whole:
            key = crypto.unwrap(config.wrapping, row.wrapped_key, upload_id)
            parts = _blobs(store, row.storage).read(upload_id, row.records)
            try:
                with whole.open("wb") as file:
                    for data in crypto.decrypt(key, upload_id, parts):
                        file.write(data)
            except (crypto.Undecryptable, MissingRecords) as exc:
                log.error("upload %s cannot be read back: %s", upload_id, exc)
                raise DocumentRefused("damaged", "the upload was damaged at the hub") from None
            return _ingest(
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
    return _ingest(
        store, appointment_id, path, name=name, item=item, sender=sender, actor=actor, now=now
    )


def _ingest(
    store: Store,
    appointment_id: uuid.UUID,
    source: Path,
    *,
    name: str,
    item: int | None,
    sender: str,
    actor: str,
    now: datetime,
    upload: Row[Any] | None = None,
) -> Document:
    """Size, virus scan, kind by content, made harmless, encrypted into the storage: the one
    way a file becomes a document. Scanned before anything parses it; a refusal keeps nothing.
    """
    config = config_of(store)
    _check_size(source.stat().st_size, config.limits)
    if config.clamd:
        off_loop(lambda: Clamd(config.clamd or "").scan_file(source))
    with source.open("rb") as file:
        kind = sniff(file.read(HEAD_BYTES))
    if kind is None:
        raise DocumentRefused("unsupported_type", "only PDF, JPEG, PNG and HEIC files are taken")
    with _work_file(config) as clean:
        off_loop(lambda: sanitise(kind, source, clean, config.limits))
        size = clean.stat().st_size
        _check_size(size, config.limits)
        document_id = uuid.uuid4()
        key = crypto.new_file_key()
        blobs = _blobs(store, config.storage)
        shown = display_name(name, kind)
        row = {
            "id": document_id,
            "appointment_id": appointment_id,
            "item": item,
            "name": shown,
            "media_type": kind.media_type,
            "size": size,
            "sender": sender,
            "state": "uploaded",
            "reason": None,
            "created_at": now,
            "wrapped_key": crypto.wrap(config.wrapping, key, document_id),
            "storage": blobs.name,
        }
        purge_after: list[Blobs] = []
        services = store.catalogue().services  # before the transaction, as in begin_upload
        try:
            with store.engine.begin() as conn:
                service_id = _open_appointment(conn, appointment_id, now, config.retention)
                _check_item(services, service_id, item)
                if upload is not None:  # taken by a finish running at the same time?
                    _upload_row(conn, appointment_id, upload.id, now, lock=True)
                    purge_after = _drop_uploads(store, conn, [upload])
                if sender == "citizen":
                    used = _citizen_bytes(conn, appointment_id, now)
                    _check_allowance(used, size, config.limits)
                records = blobs.write(
                    conn, document_id, 0, crypto.encrypt_file(key, document_id, clean)
                )
                conn.execute(insert(DOCUMENTS).values(records=records, **row))
                _log(conn, appointment_id, document_id, actor, "upload", now, shown)
        except BaseException:
            blobs.purge([document_id])  # a folder's file; rolled back with the rows otherwise
            raise
    if upload is not None:
        _purge(purge_after, [upload.id])
    log.info(
        "document %s of appointment %s kept (%s, %d bytes)",
        document_id,
        appointment_id,
        kind.name,
        size,
    )
    return Document(
        document_id,
        appointment_id,
        item,
        shown,
        kind.media_type,
        size,
        sender,
        "uploaded",
        None,
        now,
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
    return [_document(r) for r in rows]


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
        _log(conn, appointment_id, document_id, actor, action, now)
    key = crypto.unwrap(config.wrapping, row.wrapped_key, document_id)
    records = _blobs(store, row.storage).read(document_id, row.records)
    return _document(row), crypto.decrypt(key, document_id, records)


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
        _log(conn, appointment_id, document_id, actor, "review", now, state)
        row = _document_row(conn, appointment_id, document_id)
    return _document(row)


def delete_document(
    store: Store, appointment_id: uuid.UUID, document_id: uuid.UUID, *, actor: str, now: datetime
) -> None:
    """Delete a document: staff any, the citizen their own ones not yet accepted."""
    with store.engine.begin() as conn:
        row = _document_row(conn, appointment_id, document_id)
        check_delete(actor, row.sender, row.state)
        blobs = _blobs(store, row.storage)
        conn.execute(delete(DOCUMENTS).where(DOCUMENTS.c.id == document_id))
        blobs.drop(conn, [document_id])
        _log(conn, appointment_id, document_id, actor, "delete", now)
    blobs.purge([document_id])


# ---- retention -------------------------------------------------------------------------------


def forget_documents(store: Store, now: datetime, days: int) -> int:
    """Delete the documents and uploads of appointments that ended more than `days` ago, and
    every expired upload; logged per appointment without content. How many documents went."""
    cutoff = now - timedelta(days=days)
    with store.engine.connect() as conn:
        due = list(
            conn.scalars(
                select(APPOINTMENTS.c.id)
                .where(APPOINTMENTS.c.end_at < cutoff)
                .where(
                    APPOINTMENTS.c.id.in_(select(DOCUMENTS.c.appointment_id))
                    | APPOINTMENTS.c.id.in_(select(UPLOADS.c.appointment_id))
                )
            )
        )
    deleted = 0
    for appointment_id in due:
        deleted += _forget_appointment(store, appointment_id, now)
    with store.engine.begin() as conn:
        expired = conn.execute(select(UPLOADS).where(UPLOADS.c.expires_at <= now)).all()
        storages = _drop_uploads(store, conn, expired)
    _purge(storages, [r.id for r in expired])
    if expired:
        log.info("deleted %d expired uploads", len(expired))
    _sweep(store)
    return deleted


def _forget_appointment(store: Store, appointment_id: uuid.UUID, now: datetime) -> int:
    with store.engine.begin() as conn:
        rows = conn.execute(
            select(DOCUMENTS.c.id, DOCUMENTS.c.storage).where(
                DOCUMENTS.c.appointment_id == appointment_id
            )
        ).all()
        uploads = conn.execute(
            select(UPLOADS).where(UPLOADS.c.appointment_id == appointment_id)
        ).all()
        ids = [r.id for r in rows]
        conn.execute(delete(DOCUMENTS).where(DOCUMENTS.c.id.in_(ids)))
        storages = [_blobs(store, name) for name in {r.storage for r in rows}]
        for blobs in storages:
            blobs.drop(conn, ids)
        storages += _drop_uploads(store, conn, uploads)
        _log(conn, appointment_id, None, "retention", "delete", now, f"{len(ids)} documents")
    _purge(storages, ids + [u.id for u in uploads])
    log.info("retention: deleted %d documents of appointment %s", len(ids), appointment_id)
    return len(ids)


def _sweep(store: Store) -> None:
    """Remove what a crash left behind: folder files without a row, old work files."""
    config = config_of(store)
    if config.folder.is_dir():
        with store.engine.connect() as conn:
            known = set(conn.scalars(select(DOCUMENTS.c.id))) | set(
                conn.scalars(select(UPLOADS.c.id))
            )
        swept = FolderBlobs(config.folder).sweep(known, STALE_SECONDS)
        if swept:
            log.warning("swept %d stored files that no document or upload names", swept)
    if config.work.is_dir():
        for path in config.work.glob("doc.*"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < time.time() - STALE_SECONDS:
                    path.unlink()

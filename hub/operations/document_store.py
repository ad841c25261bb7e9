"""What the document operations share: the document as the parties see it, the configuration
(hung on the store), the tables, the storage a row names, the access log, and dropping uploads
with their parts."""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import delete, insert
from sqlalchemy.engine import Connection, Row

from hub.config import Settings
from hub.documents import crypto
from hub.documents.kinds import Limits
from hub.store import Store
from hub.store.blobs import Blobs, StorageName, open_blobs
from hub.store.models import (
    AppointmentRow,
    DocumentAccessRow,
    DocumentRow,
    DocumentUploadRow,
)

APPOINTMENTS = AppointmentRow.__table__
DOCUMENTS = DocumentRow.__table__
UPLOADS = DocumentUploadRow.__table__
ACCESS = DocumentAccessRow.__table__
Action = Literal["upload", "view", "download", "review", "delete"]


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


def document_of(row: Row[Any]) -> Document:
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


def blobs_for(store: Store, name: StorageName | str) -> Blobs:
    """The storage called `name` (a row names where it lies; the setting may have changed)."""
    config = config_of(store)
    return open_blobs("folder" if name == "folder" else "database", store.engine, config.folder)


def log_access(
    conn: Connection,
    appointment_id: uuid.UUID,
    document_id: uuid.UUID | None,
    actor: str,
    action: Action,
    now: datetime,
    detail: str = "",
) -> None:
    """Record who did what with which document (never any content), in `conn`'s transaction."""
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


def drop_uploads(store: Store, conn: Connection, rows: Sequence[Row[Any]]) -> list[Blobs]:
    """Delete upload rows and their parts (in `conn`); the storages to purge after commit."""
    if not rows:
        return []
    ids = [r.id for r in rows]
    conn.execute(delete(UPLOADS).where(UPLOADS.c.id.in_(ids)))
    storages = []
    for name in {r.storage for r in rows}:
        blobs = blobs_for(store, name)
        blobs.drop(conn, ids)
        storages.append(blobs)
    return storages


def purge(storages: Iterable[Blobs], ids: Collection[uuid.UUID]) -> None:
    """After the commit: remove what the storages keep outside the database."""
    for blobs in storages:
        blobs.purge(ids)

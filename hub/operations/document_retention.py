"""Deleting documents on time: those of appointments past the retention period, uploads nobody
finished, and what a crash left behind. The job `documents` in hub/jobs runs it hourly."""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from hub.operations.document_store import (
    APPOINTMENTS,
    DOCUMENTS,
    UPLOADS,
    blobs_for,
    config_of,
    drop_uploads,
    log_access,
    purge,
)
from hub.store import Store
from hub.store.blobs import FolderBlobs

log = logging.getLogger("hub.documents")
# Files older than this are left over from a crashed process (a file takes seconds).
STALE_SECONDS = 24 * 3600


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
        storages = drop_uploads(store, conn, expired)
    purge(storages, [r.id for r in expired])
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
        storages = [blobs_for(store, name) for name in {r.storage for r in rows}]
        for blobs in storages:
            blobs.drop(conn, ids)
        storages += drop_uploads(store, conn, uploads)
        log_access(conn, appointment_id, None, "retention", "delete", now, f"{len(ids)} documents")
    purge(storages, ids + [u.id for u in uploads])
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

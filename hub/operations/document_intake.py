"""The one way a file becomes a document: size, virus scan, kind by content, made harmless,
encrypted into the storage; plus the checks an upload meets already when it starts."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection, Row

from hub.booking.catalogue import Service
from hub.documents import crypto
from hub.documents.clamd import Clamd
from hub.documents.errors import DocumentRefused
from hub.documents.kinds import HEAD_BYTES, Limits, display_name, sniff
from hub.documents.sanitise import sanitise
from hub.offload import off_loop
from hub.operations.document_store import (
    APPOINTMENTS,
    DOCUMENTS,
    UPLOADS,
    Document,
    DocumentConfig,
    blobs_for,
    config_of,
    drop_uploads,
    log_access,
    purge,
)
from hub.store import Store
from hub.store.blobs import Blobs

log = logging.getLogger("hub.documents")


def open_appointment(
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


def check_item(services: Mapping[str, Service], service_id: str, item: int | None) -> None:
    if item is None:
        return
    service = services.get(service_id)
    count = len(service.documents_de) if service else 0
    if not 0 <= item < count:
        raise DocumentRefused("not_allowed", f"the service has no checklist item {item}")


def citizen_bytes(conn: Connection, appointment_id: uuid.UUID, now: datetime) -> int:
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


def check_size(size: int, limits: Limits) -> None:
    if size < 1:
        raise DocumentRefused("damaged", "the file is empty")
    if size > limits.max_file:
        raise DocumentRefused(
            "too_large", f"the file is larger than {limits.max_file // (1024 * 1024)} MB"
        )


def check_allowance(used: int, size: int, limits: Limits) -> None:
    if used + size > limits.max_appointment:
        raise DocumentRefused(
            "appointment_full",
            f"the appointment's files would exceed {limits.max_appointment // (1024 * 1024)} MB",
        )


def upload_row(
    conn: Connection,
    appointment_id: uuid.UUID,
    upload_id: uuid.UUID,
    now: datetime | None,
    lock: bool,
) -> Row[Any]:
    """The upload of this appointment (unexpired at `now`, when given), or `unknown_upload`."""
    query = select(UPLOADS).where(
        UPLOADS.c.id == upload_id, UPLOADS.c.appointment_id == appointment_id
    )
    if now is not None:
        query = query.where(UPLOADS.c.expires_at > now)
    row = conn.execute(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        raise DocumentRefused("unknown_upload", "no such upload (finished, cancelled or expired)")
    return row


@contextlib.contextmanager
def work_file(config: DocumentConfig) -> Iterator[Path]:
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


def ingest(
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
    check_size(source.stat().st_size, config.limits)
    if config.clamd:
        Clamd(config.clamd).scan_file(source)  # waiting on a socket: gevent's loop goes on
    with source.open("rb") as file:
        kind = sniff(file.read(HEAD_BYTES))
    if kind is None:
        raise DocumentRefused("unsupported_type", "only PDF, JPEG, PNG and HEIC files are taken")
    with work_file(config) as clean:
        off_loop(lambda: sanitise(kind, source, clean, config.limits))  # CPU: beside the loop
        size = clean.stat().st_size
        check_size(size, config.limits)
        document_id = uuid.uuid4()
        key = crypto.new_file_key()
        blobs = blobs_for(store, config.storage)
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
                service_id = open_appointment(conn, appointment_id, now, config.retention)
                check_item(services, service_id, item)
                if upload is not None:  # taken by a finish running at the same time?
                    upload_row(conn, appointment_id, upload.id, now, lock=True)
                    purge_after = drop_uploads(store, conn, [upload])
                if sender == "citizen":
                    used = citizen_bytes(conn, appointment_id, now)
                    check_allowance(used, size, config.limits)
                records = blobs.write(
                    conn, document_id, 0, crypto.encrypt_file(key, document_id, clean)
                )
                conn.execute(insert(DOCUMENTS).values(records=records, **row))
                # Kind and size, not the name: the log outlives the files (names are personal).
                detail = f"{kind.media_type}, {size} bytes"
                log_access(conn, appointment_id, document_id, actor, "upload", now, detail)
        except BaseException:
            blobs.purge([document_id])  # a folder's file; rolled back with the rows otherwise
            raise
    if upload is not None:
        purge(purge_after, [upload.id])
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

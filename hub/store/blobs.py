"""Where encrypted documents lie: one interface, two storages.

A blob is the numbered sequence of sealed records of one document or one upload (see
hub.documents.crypto); the storage never sees plaintext. Writing and dropping happen inside the
caller's transaction (`conn`), so in the database a blob appears and disappears together with
its row. A folder cannot take part in a transaction: it writes at once (the caller deletes what
it wrote when the transaction fails) and removes files in `purge`, after the commit; files that
a crash left without a row are swept by `sweep`.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
import uuid
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, Protocol

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection, Engine

from hub.store.models import DocumentChunkRow

StorageName = Literal["database", "folder"]
CHUNKS = DocumentChunkRow.__table__
READ_BATCH = 4  # records per query when reading from the database (about 1 MiB)
WRITE_BATCH = 4  # records per executemany when writing to PostgreSQL (about 1 MiB)
# On PostgreSQL, through the driver (see DatabaseBlobs).
INSERT_PG = "INSERT INTO document_chunks (blob_id, seq, data) VALUES (%s, %s, %s)"
SELECT_PG = (
    "SELECT seq, data FROM document_chunks"
    " WHERE blob_id = %s AND seq >= %s AND seq < %s ORDER BY seq"
)


class Blobs(Protocol):
    """A storage of blobs."""

    name: StorageName

    def write(self, conn: Connection, blob: uuid.UUID, first: int, records: Iterable[bytes]) -> int:
        """Store `records` as numbers first, first+1, ...; how many were written."""

    def read(self, blob: uuid.UUID, count: int) -> Iterator[bytes]:
        """Records 0 .. count-1 of `blob`, one at a time (no transaction is held between)."""

    def drop(self, conn: Connection, blobs: Collection[uuid.UUID]) -> None:
        """Remove `blobs` as part of the transaction of `conn`."""

    def purge(self, blobs: Collection[uuid.UUID]) -> None:
        """Remove what `drop` could not, after the transaction committed."""


class DatabaseBlobs:
    """Records as rows of `document_chunks`: every hub process on one PostgreSQL sees them, and
    a database backup includes them."""

    name: StorageName = "database"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def write(self, conn: Connection, blob: uuid.UUID, first: int, records: Iterable[bytes]) -> int:
        count = 0
        if conn.dialect.name == "postgresql":
            # Through the driver, WRITE_BATCH records per executemany (one round trip in
            # psycopg's pipeline mode, about 1 MiB in flight).
            driver = conn.connection.driver_connection
            pending = iter(records)
            with driver.cursor() as cursor:  # type: ignore[union-attr]
                while batch := list(itertools.islice(pending, WRITE_BATCH)):
                    rows = [(blob, first + count + n, record) for n, record in enumerate(batch)]
                    cursor.executemany(INSERT_PG, rows)
                    count += len(batch)
            return count
        for count, record in enumerate(records, 1):
            conn.execute(insert(CHUNKS).values(blob_id=blob, seq=first + count - 1, data=record))
        return count

    def _rows(self, conn: Connection, blob: uuid.UUID, start: int, stop: int) -> list[Any]:
        if conn.dialect.name == "postgresql":
            # In binary: bytea as text is hex, twice the bytes and a decoding pass.
            driver = conn.connection.driver_connection
            with driver.cursor(binary=True) as cursor:  # type: ignore[union-attr]
                cursor.execute(SELECT_PG, (blob, start, stop))
                return cursor.fetchall()
        return list(
            conn.execute(
                select(CHUNKS.c.seq, CHUNKS.c.data)
                .where(CHUNKS.c.blob_id == blob, CHUNKS.c.seq >= start, CHUNKS.c.seq < stop)
                .order_by(CHUNKS.c.seq)
            ).all()
        )

    def read(self, blob: uuid.UUID, count: int) -> Iterator[bytes]:
        for start in range(0, count, READ_BATCH):
            stop = min(start + READ_BATCH, count)
            with self.engine.connect() as conn:
                rows = self._rows(conn, blob, start, stop)
            if [row[0] for row in rows] != list(range(start, stop)):
                raise MissingRecords(f"records {start}..{stop - 1} of {blob} are not all there")
            for row in rows:
                yield bytes(row[1])

    def drop(self, conn: Connection, blobs: Collection[uuid.UUID]) -> None:
        if blobs:
            conn.execute(delete(CHUNKS).where(CHUNKS.c.blob_id.in_(list(blobs))))

    def purge(self, blobs: Collection[uuid.UUID]) -> None:
        """Nothing: the rows went with the transaction."""


class MissingRecords(Exception):
    """A blob has fewer records than its row says (lost or deleted behind the hub's back)."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FolderBlobs:
    """Records in files: `<folder>/<2 hex>/<blob id>/<first record number>`, one file per
    write, each record prefixed by its length (4 bytes). A write that is retried (its
    transaction failed) replaces the file it left."""

    name: StorageName = "folder"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _dir(self, blob: uuid.UUID) -> Path:
        return self.folder / blob.hex[:2] / str(blob)

    def write(self, conn: Connection, blob: uuid.UUID, first: int, records: Iterable[bytes]) -> int:
        where = self._dir(blob)
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".part.")
        count = 0
        try:
            with os.fdopen(fd, "wb") as file:
                for count, record in enumerate(records, 1):  # noqa: B007
                    file.write(len(record).to_bytes(4, "big") + record)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, where / f"{first:010d}")
            _fsync_dir(where)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return count

    def read(self, blob: uuid.UUID, count: int) -> Iterator[bytes]:
        where = self._dir(blob)
        index = 0
        while index < count:
            try:
                file = (where / f"{index:010d}").open("rb")
            except FileNotFoundError:
                raise MissingRecords(f"record {index} of {blob} is not there") from None
            with file:
                while index < count and (head := file.read(4)):
                    record = file.read(int.from_bytes(head, "big"))
                    yield record
                    index += 1

    def drop(self, conn: Connection, blobs: Collection[uuid.UUID]) -> None:
        """Nothing yet: files go in `purge`, once the rows are gone for good."""

    def purge(self, blobs: Collection[uuid.UUID]) -> None:
        for blob in blobs:
            where = self._dir(blob)
            for path in where.glob("*"):
                path.unlink(missing_ok=True)
            if where.exists():
                where.rmdir()

    def stored(self) -> Iterator[tuple[uuid.UUID, float]]:
        """Every blob in the folder with the time it was last written (for `sweep`)."""
        for where in self.folder.glob("??/*-*-*-*-*"):
            try:
                blob = uuid.UUID(where.name)
                yield blob, where.stat().st_mtime
            except (ValueError, FileNotFoundError):
                continue

    def sweep(self, known: Collection[uuid.UUID], older_than: float = 24 * 3600) -> int:
        """Remove blobs no row names that were last written more than `older_than` seconds ago
        (left by a crash between writing the file and committing its row); how many."""
        cutoff = time.time() - older_than
        orphans = [blob for blob, mtime in self.stored() if blob not in known and mtime < cutoff]
        self.purge(orphans)
        return len(orphans)


def open_blobs(name: StorageName, engine: Engine, folder: Path) -> Blobs:
    """The storage called `name`."""
    return DatabaseBlobs(engine) if name == "database" else FolderBlobs(folder)

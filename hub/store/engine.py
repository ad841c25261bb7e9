"""Engine and session handling for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from hub.store.catalogue import Catalogue


def _prepare_sqlite(engine: Engine) -> None:
    """Foreign keys on, WAL, and BEGIN IMMEDIATE so writers queue instead of failing."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN itself (savepoints work)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; a SQLite file's folder is created on demand."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        _prepare_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    # No pre-ping (it costs a round trip per request): a connection found dead raises once,
    # SQLAlchemy then drops the pool's stale connections and operations retry (retrying()).
    kwargs.setdefault("pool_pre_ping", False)
    # UTC sessions: timestamps arrive already in UTC and need no conversion per row.
    kwargs.setdefault("connect_args", {"options": "-c timezone=UTC"})
    return create_engine(url, **kwargs)


T = TypeVar("T")
# PostgreSQL error codes worth one more try: serialization failure, deadlock detected.
RETRYABLE_PGCODES = {"40001", "40P01"}


def retrying(attempt: Callable[[], T]) -> T:
    """Run a transaction once more after a deadlock, a serialization failure, or a connection
    that died while idle in the pool (say, the database restarted)."""
    for remaining in (1, 0):
        try:
            return attempt()
        except DBAPIError as exc:
            code = getattr(exc.orig, "sqlstate", None)
            if remaining == 0 or not (exc.connection_invalidated or code in RETRYABLE_PGCODES):
                raise
    raise AssertionError("unreachable")


def _nobody(_counters: Collection[int]) -> None:
    """Nobody listens for changes to the counters' days."""


class Store:
    """One database: an engine and a factory of transactional sessions."""

    def __init__(self, url: str, catalogue_ttl: float = 5.0, **engine_kwargs: Any) -> None:
        from hub.store.catalogue import CatalogueCache

        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._catalogue = CatalogueCache(catalogue_ttl)
        # Told the counters whose day of appointments changed, once the change is committed
        # (a booking, move, cancellation, confirmation or device check). The realtime part
        # sets it to push `day_changed` to those counters' appliances; nobody by default.
        self.day_changed: Callable[[Collection[int]], None] = _nobody

    @property
    def dialect(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    def catalogue(self) -> Catalogue:
        """Services and counters, cached for a few seconds (see CatalogueCache)."""
        return retrying(lambda: self._catalogue.get(self.transaction))

    def forget_catalogue(self) -> None:
        """Make the next catalogue() read the database."""
        self._catalogue.invalidate()

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

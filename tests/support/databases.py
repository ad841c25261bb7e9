"""Database fixtures (a pytest plugin, see tests/conftest.py): SQLite per test from a migrated
template, and one PostgreSQL scratch database per session, emptied before each test."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hub.store import Store
from hub.store.migrate import upgrade
from hub.store.models import Base
from hub.store.seed import seed_defaults
from tests.support.environment import POSTGRES_URL, need_postgres

# Fixtures that put a test on PostgreSQL: tests/conftest.py marks such tests `postgres`.
POSTGRES_FIXTURES = frozenset({"postgres_database", "pg_store"})


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A scratch database for this test session, migrated once and dropped at the end."""
    need_postgres()
    name = f"bv_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """An empty, migrated database: a fresh SQLite file, or the PostgreSQL scratch database."""
    if request.param == "sqlite":
        path = tmp_path / "hub.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    _reset_postgres(url)
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """The database with the default data (services, hours, two counters that take bookings
    without an appliance)."""
    store = Store(db_url)
    with store.transaction() as session:
        seed_defaults(session, without_appliance=True)
    yield store
    store.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path, sqlite_template: Path) -> Iterator[Store]:
    """A seeded SQLite database of its own, for tests where the database plays no part."""
    path = tmp_path / "hub.sqlite3"
    shutil.copy(sqlite_template, path)
    store = Store(f"sqlite:///{path}")
    with store.transaction() as session:
        seed_defaults(session, without_appliance=True)
    yield store
    store.dispose()


@pytest.fixture
def pg_store(postgres_database: str) -> Iterator[Store]:
    """Like `store`, on PostgreSQL only, for tests of what only PostgreSQL can do."""
    _reset_postgres(postgres_database)
    store = Store(postgres_database)
    with store.transaction() as session:
        seed_defaults(session, without_appliance=True)
    yield store
    store.dispose()

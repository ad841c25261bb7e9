"""Shared fixtures: clocks, databases (SQLite and PostgreSQL), the app, a hub served on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hub import create_app
from hub.clock import fixed_clock
from hub.config import Settings
from hub.store import Store
from hub.store.migrate import upgrade
from hub.store.models import Base
from hub.store.seed import seed_defaults

BERLIN = ZoneInfo("Europe/Berlin")
IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get(
    "BUERGERAMT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# A Monday morning before opening, far from holidays and DST changes; tests that need other
# moments build their own clock.
MONDAY_EARLY = datetime(2026, 3, 2, 7, 0, tzinfo=BERLIN)


# Chromium fixtures for the browser and fault tests: one Playwright driver for the session.
pytest_plugins = ["tests.browser_support"]

REDIS_URL = os.environ.get("BUERGERAMT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def need_redis() -> None:
    """Skip without Redis, except under CI, where Redis must be there and its absence fails."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(
                f"Redis at {REDIS_URL} not reachable ({exc}) – CI must provide it", pytrace=False
            )
        pytest.skip(f"Redis at {REDIS_URL} not reachable ({exc})")


def berlin(*args: int) -> datetime:
    """A datetime in Berlin: berlin(2026, 3, 2, 8, 0)."""
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


def _postgres_reachable() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def need_postgres() -> None:
    """Skip locally without PostgreSQL; under CI=true fail instead, never skip."""
    problem = _postgres_reachable()
    if problem is None:
        return
    message = f"PostgreSQL at {POSTGRES_URL} not reachable ({problem})"
    if IN_CI:
        pytest.fail(message + " – CI must provide it", pytrace=False)
    pytest.skip(message)


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


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings for tests: rate limits off unless a test turns them on."""
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "rate_limit_enabled": False,
        "public_url": "http://hub.test",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def app(store: Store, tmp_path: Path):
    """The hub on the test database with its clock at MONDAY_EARLY."""
    return create_app(
        make_settings(tmp_path, database_url=store.url),
        clock=fixed_clock(MONDAY_EARLY),
        store=store,
        TESTING=True,
    )


@pytest.fixture
def client(app):
    """A Flask test client for fast, in-process requests."""
    return app.test_client()


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServedHub:
    """`buergeramt hub` running in a child process on loopback."""

    def __init__(self, db_url: str, env: dict[str, str], tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"hub-{self.port}.log"
        full_env = {
            **os.environ,
            "BUERGERAMT_DATABASE_URL": db_url,
            "BUERGERAMT_DATA_DIR": str(tmp_path),
            "BUERGERAMT_PUBLIC_URL": self.url,
            **env,
        }
        self.env = full_env
        self._log_file = self.log.open("w")
        self._launch()

    def _launch(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from hub.cli import main; main()",
                "hub",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=self.env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def restart(self) -> None:
        """Stop the process and start it again on the same port."""
        self.process.terminate()
        self.process.wait(15)
        self._launch()

    def kill(self) -> None:
        """Kill the process outright (no goodbye to its clients); `launch` brings it back."""
        self.process.kill()
        self.process.wait(15)

    def launch(self) -> None:
        """Start the process again on the same port."""
        self._launch()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"hub exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"hub did not start: {self.log.read_text()}")

    def stop(self) -> None:
        """Terminate the process and close its log."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log_file.close()


@pytest.fixture
def serve_hub(tmp_path: Path) -> Iterator:
    """Start hubs on loopback: serve_hub(db_url, **env); all are stopped after the test."""
    hubs: list[ServedHub] = []

    def start(db_url: str, **env: str) -> ServedHub:
        hub = ServedHub(db_url, {f"BUERGERAMT_{k.upper()}": v for k, v in env.items()}, tmp_path)
        hubs.append(hub)
        return hub

    yield start
    for hub in hubs:
        hub.stop()


class Mailbox:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list = []
        self.port = free_port()
        self.controller = None

    def start(self) -> None:
        """Listen (again) on the same port."""
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """Stop listening: the mail server is down."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 20.0) -> list:
        """Block until at least `count` messages have arrived."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """An SMTP server on loopback for the duration of a test."""
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture
def mailing_app(store, tmp_path, mailbox):
    """make(**settings): the hub on the test database, mailing to `mailbox`, clock at
    MONDAY_EARLY."""

    def make(**overrides: object):
        settings = make_settings(
            tmp_path,
            database_url=store.url,
            smtp_host="127.0.0.1",
            smtp_port=mailbox.port,
            smtp_security="none",
            secret_key="test-key",
            **overrides,
        )
        return create_app(settings, clock=fixed_clock(MONDAY_EARLY), store=store, TESTING=True)

    return make

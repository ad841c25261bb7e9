"""What the tests run against: the clock's day, CI or not, where Redis and PostgreSQL are, and the
checks that skip a test without them (never under CI=true: there their absence fails)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import create_engine, text

BERLIN = ZoneInfo("Europe/Berlin")
IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get(
    "BUERGERAMT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# A Monday morning before opening, far from holidays and DST changes; tests that need other
# moments build their own clock.
MONDAY_EARLY = datetime(2026, 3, 2, 7, 0, tzinfo=BERLIN)

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


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(
    url: str, process: subprocess.Popen, log: Path, name: str, seconds: float = 30
) -> None:
    """Wait until `url` answers 200; fail with the process's log when it exits or is too slow."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: {log.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not start: {log.read_text()}")


def stop_process(process: subprocess.Popen, log_file: IO[str]) -> None:
    """Terminate a served process (kill it after 10 s) and close its log."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
    log_file.close()

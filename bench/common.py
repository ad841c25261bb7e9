"""Helpers shared by the benchmarks: results files, percentiles, a served hub, scratch databases."""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

RESULTS = Path(__file__).with_name("results")
POSTGRES_URL = os.environ.get(
    "BUERGERAMT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.machine(),
    }


def write_results(name: str, metrics: dict[str, Any], **extra: Any) -> Path:
    """bench/results/NAME.json as {"metrics", "machine", "date", ...}; also printed."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    body = {
        "metrics": metrics,
        "machine": machine(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        **extra,
    }
    path.write_text(json.dumps(body, indent=2) + "\n")
    print(json.dumps(body, indent=2))
    return path


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0–100) by linear interpolation."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


class ScratchPostgres:
    """A database created for one benchmark run and dropped afterwards."""

    def __init__(self) -> None:
        self.name = f"bv_bench_{uuid.uuid4().hex[:8]}"
        self._admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = make_url(POSTGRES_URL).set(database=self.name).render_as_string(False)

    def drop(self) -> None:
        """Remove the database."""
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self._admin.dispose()


class Hub:
    """`buergeramt hub` in a child process."""

    def __init__(self, database_url: str, port: int | None = None, **env: str) -> None:
        if port is None:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        self.port = port
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {
            **os.environ,
            "BUERGERAMT_DATABASE_URL": database_url,
            "BUERGERAMT_PUBLIC_URL": self.url,
            **{f"BUERGERAMT_{k.upper()}": v for k, v in env.items()},
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from hub.cli import main; main()",
                "hub",
                "--port",
                str(self.port),
                "--reuse-port",
            ],
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Wait for this process's own "listening" line: with a shared port, another hub may
        # already answer /readyz.
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if "hub listening on" in line:
                break
        else:
            raise RuntimeError("hub exited before listening")
        threading.Thread(target=self.process.stderr.read, daemon=True).start()  # drain
        if httpx.get(f"{self.url}/readyz", timeout=5).status_code != 200:
            self.stop()
            raise RuntimeError("hub did not become ready")

    def stop(self, timeout: float = 10) -> None:
        """Terminate the hub (it lets each job finish its round: up to `timeout` seconds)."""
        self.process.terminate()
        self.process.wait(timeout)


def prepare_counters(
    url: str, counters: int, appointments: int, start: datetime, clerk_password: str
) -> tuple[Any, list[int], dict[str, Any]]:
    """A migrated database with `counters` counters open around the clock, one appliance each,
    a clerk `clerk`, and `appointments` 10-minute appointments at `start`, spread over the
    counters (inserted directly: a benchmark's data, not bookings)."""
    from datetime import timedelta

    from sqlalchemy import insert, select

    from hub.booking.schedule import AROUND_THE_CLOCK
    from hub.booking.tokens import hash_token, new_token
    from hub.operations.accounts import add_device, add_user
    from hub.store import Store
    from hub.store.migrate import upgrade
    from hub.store.models import AppointmentRow, CounterRow
    from hub.store.seed import add_schedule, seed_defaults

    upgrade(url)
    store = Store(url)
    with store.transaction() as session:
        seed_defaults(session, counters=0)
        schedule = add_schedule(session, "Bench", AROUND_THE_CLOCK, holidays=None)
        session.flush()
        for n in range(counters):
            session.add(CounterRow(name=f"Bench {n}", schedule_id=schedule.id))
    with store.transaction() as session:
        counter_ids = list(session.scalars(select(CounterRow.id).order_by(CounterRow.id)))
    credentials = {c: add_device(store, c, "", start)[1] for c in counter_ids}
    add_user(store, "clerk", clerk_password, "clerk", start)
    tokens, rows = [], []
    for i in range(appointments):
        token, ident = new_token(), uuid.uuid4()
        counter = counter_ids[i % counters]
        tokens.append((token, counter, str(ident)))
        rows.append(
            {
                "id": ident,
                "service_id": "meldebescheinigung",
                "counter_id": counter,
                "start_at": start,
                "end_at": start + timedelta(minutes=10),
                "status": "booked",
                "name": f"Person {i}",
                "email": f"p{i}@example.org",
                "locale": "de",
                "manage_token_hash": hash_token(new_token()),
                "join_token_hash": hash_token(token),
                "created_at": start - timedelta(days=1),
                "updated_at": start - timedelta(days=1),
            }
        )
    with store.engine.begin() as conn:
        for chunk in range(0, len(rows), 1000):
            conn.execute(insert(AppointmentRow), rows[chunk : chunk + 1000])
    return store, counter_ids, {"credentials": credentials, "tokens": tokens}

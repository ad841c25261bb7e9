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

    def stop(self) -> None:
        """Terminate the hub."""
        self.process.terminate()
        self.process.wait(10)

"""The hub for tests (a pytest plugin, see tests/conftest.py): settings, the Flask app and its
test client in-process, and `buergeramt hub` served on loopback in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub import create_app
from hub.clock import fixed_clock
from hub.config import Settings
from hub.store import Store
from tests.support.environment import (
    MONDAY_EARLY,
    free_port,
    stop_process,
    wait_until_healthy,
)


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
        wait_until_healthy(f"{self.url}/healthz", self.process, self.log, "hub")

    def stop(self) -> None:
        """Terminate the process and close its log."""
        stop_process(self.process, self._log_file)


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

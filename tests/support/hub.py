"""The hub for tests (a pytest plugin, see tests/conftest.py): settings, the Flask app and its
test client in-process, and `buergeramt hub` served on loopback in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from tests.support.netlab import Host


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
    """`buergeramt hub` running in a child process on loopback, or on `host`'s address in a
    netlab namespace (tests/support/netlab.py) when `host` is given."""

    def __init__(
        self, db_url: str, env: dict[str, str], tmp_path: Path, host: Host | None = None
    ) -> None:
        self.host = host
        self.address = host.address if host is not None else "127.0.0.1"
        self.port = free_port()
        self.url = f"http://{self.address}:{self.port}"
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
        argv = [
            sys.executable,
            "-c",
            "from hub.cli import main; main()",
            "hub",
            "--host",
            self.address,
            "--port",
            str(self.port),
        ]
        popen = subprocess.Popen if self.host is None else self.host.popen
        self.process = popen(
            argv,
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
        def ready() -> None:
            wait_until_healthy(f"{self.url}/healthz", self.process, self.log, "hub")

        if self.host is None:
            ready()
        else:
            self.host.call(ready)  # the hub's address is reachable inside the lab only

    def stop(self) -> None:
        """Terminate the process and close its log."""
        stop_process(self.process, self._log_file)


@pytest.fixture
def serve_hub(tmp_path: Path) -> Iterator:
    """Start hubs: serve_hub(db_url, **env) on loopback, serve_hub(db_url, host=lab_host,
    **env) in a netlab namespace; all are stopped after the test."""
    hubs: list[ServedHub] = []

    def start(db_url: str, host: Host | None = None, **env: str) -> ServedHub:
        settings = {f"BUERGERAMT_{k.upper()}": v for k, v in env.items()}
        hub = ServedHub(db_url, settings, tmp_path, host)
        hubs.append(hub)
        return hub

    yield start
    for hub in hubs:
        hub.stop()

"""The payment sandbox for tests (a pytest plugin, see tests/conftest.py): `python -m
payment_sandbox` served on loopback in a child process, with helpers for its /sandbox/ switches."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.environment import free_port, stop_process, wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]


class ServedSandbox:
    """The payment sandbox running in a child process on loopback."""

    def __init__(self, tmp_path: Path, user: str = "", password: str = "") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"payment-sandbox-{self.port}.log"
        self._log_file = self.log.open("w")
        env = {**os.environ, "PAYMENT_SANDBOX_USER": user, "PAYMENT_SANDBOX_PASSWORD": password}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "payment_sandbox", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        wait_until_healthy(f"{self.url}/healthz", self.process, self.log, "payment sandbox")

    def faults(self, **switches: Any) -> dict[str, Any]:
        """Set fault switches (see payment_sandbox.ledger.Faults); returns all of them."""
        answer = httpx.put(f"{self.url}/sandbox/faults", json=switches, timeout=5)
        answer.raise_for_status()
        return answer.json()

    def counts(self) -> dict[str, Any]:
        """Transactions, creates received and the requestIds seen."""
        return httpx.get(f"{self.url}/sandbox/transactions", timeout=5).json()

    def press(self, transaction_id: str, action: str) -> httpx.Response:
        """Press a button of the pay page: pay, decline or cancel."""
        return httpx.post(f"{self.url}/pay/{transaction_id}", data={"action": action}, timeout=5)

    def stop(self) -> None:
        """Terminate the process and close its log."""
        stop_process(self.process, self._log_file)


@pytest.fixture
def payment_sandbox(tmp_path: Path) -> Iterator[ServedSandbox]:
    """A fresh payment sandbox on loopback, without credentials; stopped after the test."""
    sandbox = ServedSandbox(tmp_path)
    yield sandbox
    sandbox.stop()

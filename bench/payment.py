"""Fees in the call (issue 16): how fast a payment request reaches the citizen, and how fast a
payment the platform completed shows on both sides.

A served hub (`buergeramt hub`, PostgreSQL when reachable, else SQLite) pays through the
payment sandbox (`python -m payment_sandbox`, its own process speaking XBezahldienste); the
clerk's appliance and the citizen's page are Socket.IO clients in this process, each stamping
the moment a message arrives. One call, ROUNDS requests of one Meldebescheinigung, each paid.

- request_to_button_ms: the clerk sends `payment_request` → the citizen's page has the
  `payments` news with the new request's pay link (the hub stores it, creates the transaction
  at the platform, tells both); median.
- paid_to_shown_ms: the citizen presses "pay" on the platform's page → both parties have the
  `payments` news saying paid (the platform sends the browser back to the hub, which reads the
  status itself before it says so); median, p95; target < 2,000.
- paid_to_shown_no_return_ms: the same when the citizen closes the platform's window before
  it sends them back: only the hub's `payments` job (every payment_poll_seconds) finds it.
- Baselines, in the same run: provider_create_ms and provider_status_ms (the sandbox's own
  answers to this process); request_overhead_ratio = request_to_button / provider_create.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import socketio

from bench.common import Hub, ScratchPostgres, percentile, prepare_counters, write_results
from hub.config import Settings
from hub.payments.provider import PaymentItem, PaymentRequest
from hub.payments.xbezahldienste import XBezahldienste
from tests.support.environment import free_port, wait_until_healthy

ROUNDS = int(os.environ.get("BENCH_PAYMENT_ROUNDS", "20"))
PASSWORD = "bench-clerk-password"
LINE = {"code": "meldebescheinigung", "quantity": 1}


class Sandbox:
    """The payment sandbox in a child process."""

    def __init__(self, log: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "payment_sandbox", "--port", self.url.rsplit(":", 1)[1]],
            cwd=Path(__file__).resolve().parents[1],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_until_healthy(f"{self.url}/healthz", self.process, log, "payment sandbox")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self._log.close()


class Party:
    """A Socket.IO client that stamps each `payments` news on arrival."""

    def __init__(self, url: str, namespace: str, auth: dict[str, Any]) -> None:
        self.namespace = namespace
        self.client = socketio.Client(reconnection=False)
        self.news: list[tuple[float, dict[str, Any]]] = []
        self.arrived = threading.Condition()
        self.client.on("payments", self._payments, namespace=namespace)
        self.client.connect(url, namespaces=[namespace], auth=auth, transports=["websocket"])

    def _payments(self, data: dict[str, Any]) -> None:
        with self.arrived:
            self.news.append((time.perf_counter(), data))
            self.arrived.notify_all()

    def when(self, payment: str, state: str, after: float, timeout: float = 30) -> float:
        """The arrival time of the first news after `after` with `payment` in `state`."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for at, data in self.news:
                    if at >= after and any(
                        p["id"] == payment and p["state"] == state for p in data["payments"]
                    ):
                        return at
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no news of {payment} {state}")
                self.arrived.wait(left)

    def call(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self.client.call(event, data, namespace=self.namespace, timeout=30)
        return answer

    def close(self) -> None:
        self.client.disconnect()


def database() -> tuple[str, ScratchPostgres | None]:
    try:
        scratch = ScratchPostgres()
        return scratch.url, scratch
    except Exception as exc:  # no PostgreSQL here: SQLite, and the results say so
        print(f"PostgreSQL not reachable ({exc.__class__.__name__}); using SQLite")
        return f"sqlite:///{tempfile.mkdtemp()}/bench.db", None


def transaction_of(url: str, payment: str) -> str:
    from hub.store import Store
    from hub.store.models import PaymentRequestRow

    store = Store(url)
    try:
        with store.transaction() as session:
            row = session.get(PaymentRequestRow, uuid.UUID(payment))
            assert row is not None and row.transaction_id
            return row.transaction_id
    finally:
        store.dispose()


def main() -> None:
    url, scratch = database()
    now = datetime.now(UTC)
    store, counters, made = prepare_counters(url, 1, 1, now, PASSWORD)
    store.dispose()
    token, _, appointment = made["tokens"][0]
    logs = Path(tempfile.mkdtemp())
    sandbox = Sandbox(logs / "sandbox.log")
    hub = Hub(
        url,
        payment_url=sandbox.url,
        rate_limit_enabled="false",
        secret_key="bench-payment",
        data_dir=str(logs),
    )
    web = httpx.Client(timeout=30)
    platform = XBezahldienste(sandbox.url, "buergeramt", "default", timeout_seconds=10)
    try:
        citizen = Party(hub.url, "/citizen", {"join": token})
        clerk = Party(hub.url, "/appliance", {"device": made["credentials"][counters[0]]})
        signed = clerk.call("sign_in", {"username": "clerk", "password": PASSWORD})
        assert signed["ok"], signed
        assert clerk.call("admit", {"appointment": appointment})["ok"]

        to_button, to_paid, to_paid_job, creates, statuses = [], [], [], [], []
        for n in range(ROUNDS * 2 + 1):
            sent = time.perf_counter()
            answer = clerk.call("payment_request", {"appointment": appointment, "lines": [LINE]})
            assert answer["ok"], answer
            payment = answer["payment"]["id"]
            shown = citizen.when(payment, "pending", sent)
            transaction = transaction_of(url, payment)
            started = time.perf_counter()
            press = web.post(
                f"{sandbox.url}/pay/{transaction}",
                data={"action": "pay"},
                follow_redirects=False,
            )
            assert press.status_code == 303, press.status_code
            returned = n % 2 == 0
            if returned:  # the browser follows the platform's redirect back to the hub
                web.get(press.headers["location"])
            paid = max(
                citizen.when(payment, "paid", started, timeout=60),
                clerk.when(payment, "paid", started, timeout=60),
            )
            if n == 0:
                continue  # warm-up: first PDF font load, first connections
            (to_paid if returned else to_paid_job).append((paid - started) * 1000)
            if returned:
                to_button.append((shown - sent) * 1000)
            # Baselines: the platform's own answers to the hub's client, from this process.
            request = PaymentRequest(
                request_id=uuid.uuid4().hex,
                items=(PaymentItem("bench", "Bench", 1, 1000),),
                purpose="Bench",
                redirect_url=f"{hub.url}/",
                requested_at=datetime.now(UTC),
            )
            t0 = time.perf_counter()
            created = platform.create(request)
            creates.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            platform.status(created.transaction_id)
            statuses.append((time.perf_counter() - t0) * 1000)
        citizen.close()
        clerk.close()
    finally:
        web.close()
        platform.close()
        hub.stop(timeout=120)  # the mail job sends the receipts' mails first
        sandbox.stop()
        if scratch is not None:
            scratch.drop()

    def median(values: list[float]) -> float:
        return round(statistics.median(values), 1)

    create_ms = median(creates)
    metrics = {
        "request_to_button_ms": median(to_button),
        "request_to_button_p95_ms": round(percentile(to_button, 95), 1),
        "paid_to_shown_ms": median(to_paid),
        "paid_to_shown_p95_ms": round(percentile(to_paid, 95), 1),
        "paid_to_shown_target_ms": 2000,
        "paid_to_shown_no_return_ms": median(to_paid_job),
        "paid_to_shown_no_return_max_ms": round(max(to_paid_job), 1),
        "provider_create_ms": create_ms,
        "provider_status_ms": median(statuses),
        "request_overhead_ratio": round(median(to_button) / create_ms, 2) if create_ms else None,
        "rounds": ROUNDS,
        "database": "postgresql" if scratch is not None else "sqlite",
        "payment_poll_seconds": Settings.model_fields["payment_poll_seconds"].default,
    }
    write_results("payment", metrics)


if __name__ == "__main__":
    main()

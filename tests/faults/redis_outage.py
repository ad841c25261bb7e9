"""Redis stopped for a while under booking traffic: nothing may answer 5xx, and the rate limits
and the Socket.IO fan-out must come back by themselves.

`redis_outage()` runs the whole scenario with real processes (a private redis-server, a hub served
by `buergeramt hub` on loopback, a Socket.IO client) and returns its figures; the test in
test_redis_outage.py asserts on them and bench/faults.py records them.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import redis
import socketio
from sqlalchemy import select

from hub.operations import accounts
from hub.store import Store
from hub.store.migrate import upgrade
from hub.store.models import CounterRow
from hub.store.seed import seed_defaults
from tests.support.environment import MONDAY_EARLY, free_port
from tests.support.hub import ServedHub
from tests.support.realtime_clients import appliance

SERVICE = "meldebescheinigung"
PREFIX = "outage"  # rate_limit_key_prefix: also names the Socket.IO channel


class PrivateRedis:
    """A redis-server of this scenario's own on a free loopback port (never the machine's)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start (again) on the same port and wait until it answers."""
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise RuntimeError("private redis-server did not start") from None
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        """Stop it outright: the outage."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def keys(self) -> int:
        """How many keys it holds (rate-limit counters), or -1 when down."""
        try:
            client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
            try:
                return int(client.dbsize())
            finally:
                client.close()
        except redis.RedisError:
            return -1


def seeded_sqlite(workdir: Path) -> str:
    """A migrated SQLite file in `workdir` with the default data; its URL."""
    url = f"sqlite:///{workdir / 'hub.sqlite3'}"
    upgrade(url)
    store = Store(url)
    with store.transaction() as session:
        seed_defaults(session, without_appliance=True)
    store.dispose()
    return url


class Traffic:
    """Citizens booking, reading and cancelling through the API and the booking page, counting
    every answer by status."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.statuses: Counter[int] = Counter()
        self.errors: list[str] = []  # 5xx answers and failed requests, described
        self.booked = 0
        self._stop = threading.Event()
        self._n = 0
        self._slots = itertools.cycle(list(self._free_slots()))  # taken ones answer 409

    def _free_slots(self) -> Iterator[str]:
        day = date(2026, 3, 3)
        with httpx.Client(timeout=10) as client:
            for offset in range(0, 28, 7):
                first = day + timedelta(days=offset)
                last = first + timedelta(days=6)
                answer = client.get(
                    f"{self.url}/api/v1/services/{SERVICE}/slots",
                    params={"from": first.isoformat(), "to": last.isoformat()},
                )
                answer.raise_for_status()
                yield from (s["start"] for s in answer.json()["slots"])

    def _note(self, response: httpx.Response) -> httpx.Response:
        self.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.errors.append(
                f"{response.request.method} {response.request.url.path}: "
                f"{response.status_code} {response.text[:200]}"
            )
        return response

    def _round(self, client: httpx.Client) -> None:
        self._n += 1
        n = self._n
        self._note(client.get(f"{self.url}/api/v1/services"))
        self._note(client.get(f"{self.url}/book/{SERVICE}"))
        start = next(self._slots)
        body = {
            "service_id": SERVICE,
            "start": start,
            "name": "Erika Mustermann",
            "email": f"citizen{n}@example.org",
        }
        booked = self._note(client.post(f"{self.url}/api/v1/appointments", json=body))
        if booked.status_code != 201:
            return
        self.booked += 1
        appointment = booked.json()
        auth = {"Authorization": f"Bearer {appointment['manage_token']}"}
        self._note(client.get(f"{self.url}/api/v1/appointments/{appointment['id']}", headers=auth))
        if n % 2:  # every other one is cancelled again
            self._note(
                client.delete(f"{self.url}/api/v1/appointments/{appointment['id']}", headers=auth)
            )

    def run(self) -> None:
        """Keep booking until stop()."""
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                try:
                    self._round(client)
                except httpx.HTTPError as exc:
                    self.errors.append(f"request failed: {type(exc).__name__}: {exc}")
                    self.statuses[0] += 1
                self._stop.wait(0.05)

    def stop(self) -> None:
        self._stop.set()


class FanOutProbe:
    """An appliance connected to the hub; messages published into the hub's Socket.IO channel
    from outside must reach it through Redis and the hub's queue listener."""

    def __init__(self, hub_url: str, redis_url: str, credential: str) -> None:
        self.party = appliance(hub_url, credential).connect()
        self.party.next("hello")
        self.sid = self.party.client.get_sid("/appliance")
        self.redis_url = redis_url
        self.received = threading.Event()
        self.party.client.on("probe", lambda *_: self.received.set(), namespace="/appliance")

    def reaches(self, timeout: float) -> bool:
        """Publish one probe; True when the appliance got it within `timeout`."""
        self.received.clear()
        with suppress(redis.RedisError):
            publisher = redis.Redis.from_url(self.redis_url, socket_connect_timeout=0.5)
            try:
                emitter = socketio.RedisManager(
                    self.redis_url, channel=f"{PREFIX}-socketio", write_only=True
                )
                emitter.redis = publisher
                emitter.connected = True
                emitter.emit("probe", {"at": time.time()}, namespace="/appliance", to=self.sid)
            finally:
                publisher.close()
        return self.received.wait(timeout)

    def close(self) -> None:
        self.party.close()


def _ready(url: str) -> tuple[int, dict[str, Any]]:
    answer = httpx.get(f"{url}/readyz", timeout=10)
    return answer.status_code, answer.json()


def _fallback_gauge(url: str) -> float | None:
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith("buergeramt_ratelimit_fallback "):
            return float(line.split()[1])
    return None


@contextmanager
def _scene(workdir: Path, db_url: str | None) -> Iterator[tuple[PrivateRedis, ServedHub, str]]:
    private = PrivateRedis(workdir)
    private.start()
    url = db_url or seeded_sqlite(workdir)
    store = Store(url)
    try:
        with store.transaction() as session:
            counter = session.scalar(select(CounterRow.id).order_by(CounterRow.id))
        assert counter is not None, "the database has no counter: seed it first"
        _, credential = accounts.add_device(store, counter, "outage probe", MONDAY_EARLY)
    finally:
        store.dispose()
    env = {
        "BUERGERAMT_CLOCK_START": MONDAY_EARLY.isoformat(),
        "BUERGERAMT_REDIS_URL": private.url,
        "BUERGERAMT_RATE_LIMIT_KEY_PREFIX": PREFIX,
        "BUERGERAMT_RATE_LIMIT_BOOKING": "1000/minute",
        "BUERGERAMT_RATE_LIMIT_READ": "5000/minute",
        "BUERGERAMT_MAX_OPEN_PER_EMAIL": "2",
    }
    hub = ServedHub(url, env, workdir)
    try:
        yield private, hub, credential
    finally:
        hub.stop()
        private.stop()


def redis_outage(
    workdir: Path | None = None, db_url: str | None = None, outage_seconds: float = 10.0
) -> dict[str, Any]:
    """Book through a hub while its Redis is stopped for `outage_seconds`; return the figures.

    `db_url` names a migrated, seeded database (default: a fresh SQLite file in `workdir`).
    """
    own_dir = workdir is None
    workdir = workdir or Path(tempfile.mkdtemp(prefix="redis-outage-"))
    try:
        with _scene(workdir, db_url) as (private, hub, credential):
            figures = _play(private, hub, credential, outage_seconds)
            log = hub.log.read_text(errors="replace")
            # Once per outage, not once per request.
            figures["redis_outage_log_lines"] = log.count("Redis unreachable: rate limits")
            figures["redis_outage_tracebacks"] = log.count("Traceback")
            return figures
    finally:
        if own_dir:
            shutil.rmtree(workdir, ignore_errors=True)


def _play(
    private: PrivateRedis, hub: ServedHub, credential: str, outage_seconds: float
) -> dict[str, Any]:
    probe = FanOutProbe(hub.url, private.url, credential)
    traffic = Traffic(hub.url)
    worker = threading.Thread(target=traffic.run, daemon=True)
    try:
        fan_out_before = probe.reaches(5)
        worker.start()
        time.sleep(2)
        private.stop()
        stopped = time.monotonic()
        time.sleep(outage_seconds / 2)
        ready_during = _ready(hub.url)
        fallback_during = _fallback_gauge(hub.url)
        booked_before_restart = traffic.booked
        time.sleep(max(0.0, outage_seconds - (time.monotonic() - stopped)))
        private.start()
        restarted = time.monotonic()
        booked_during = traffic.booked - booked_before_restart  # second half of the outage
        fan_out_recovery = None
        while time.monotonic() - restarted < 90:
            if probe.reaches(0.5):
                fan_out_recovery = time.monotonic() - restarted
                break
        limits_recovery = None
        while time.monotonic() - restarted < 90:
            if private.keys() > 0:  # the hub counts in Redis again
                limits_recovery = time.monotonic() - restarted
                break
            time.sleep(0.2)
        time.sleep(1)
        ready_after = _ready(hub.url)
        fallback_after = _fallback_gauge(hub.url)
    finally:
        traffic.stop()
        worker.join(30)
        probe.close()
    return {
        "redis_outage_5xx": sum(c for s, c in traffic.statuses.items() if s >= 500),
        "redis_outage_failed_requests": traffic.statuses.get(0, 0),
        "redis_outage_requests": sum(traffic.statuses.values()),
        "redis_outage_statuses": {str(s): c for s, c in sorted(traffic.statuses.items())},
        "redis_outage_bookings": traffic.booked,
        "redis_outage_bookings_in_second_half": booked_during,
        "redis_outage_seconds": outage_seconds,
        "redis_outage_readyz_during": {"http": ready_during[0], **ready_during[1]},
        "redis_outage_readyz_after": {"http": ready_after[0], **ready_after[1]},
        "redis_outage_fallback_gauge_during": fallback_during,
        "redis_outage_fallback_gauge_after": fallback_after,
        "redis_outage_fan_out_before": fan_out_before,
        "redis_outage_fan_out_recovery_s": fan_out_recovery,
        "redis_outage_rate_limit_recovery_s": limits_recovery,
        "redis_outage_errors": traffic.errors[:10],
    }

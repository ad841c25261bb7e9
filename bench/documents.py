"""Documents (issue 15): a 20 MB file through the hub on loopback, the pipeline behind it, and
HEIC → JPEG.

Writes its keys into bench/results/documents.json, keeping the keys others put there (the
scanner's `scan_to_pdf_ms_per_page`):

- upload_mb_per_s: a 19 MB PDF (pages of scanned image data; under the 20 MB limit) sent to a
  served hub (`buergeramt hub`, PostgreSQL, database storage) as the citizen's page sends it:
  begin, PUT pieces of 1 MiB, finish; median of ROUNDS.
- upload_baseline_mb_per_s: a bare WSGI sink on gevent's server (reads each body, answers
  204) taking the same PUTs from the same client in the same run; upload_ratio = upload /
  baseline (target ≥ 0.5).
- upload_rss_growth_mb: how far the served hub's resident memory rises above where it stood
  after a warm-up upload, sampled every 10 ms while the 19 MB files go up and come back down
  (target ≤ 16).
- heic_to_jpeg_ms: a 12 MP HEIC photo (4032×3024, as an iPhone takes it) decoded, turned
  upright and written as JPEG; median of ROUNDS.
- pipeline_mb_per_s(_sqlite, _folder): the same file through `append` and `finish` in
  process, without HTTP, on PostgreSQL / SQLite with the database storage / SQLite with the
  folder storage.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import insert, select

from bench.common import RESULTS, Hub, ScratchPostgres, machine
from hub.booking.rules import BookingPolicy
from hub.booking.tokens import hash_token, new_token
from hub.documents import crypto
from hub.documents.kinds import MB, Kind, Limits
from hub.documents.sanitise import sanitise
from hub.operations import documents as ops
from hub.operations.booking import BookingRequest, book
from hub.store import Store
from hub.store.migrate import upgrade
from hub.store.models import AppointmentRow, CounterRow
from hub.store.seed import seed_defaults
from tests.support.document_files import heic, large_pdf
from tests.support.environment import MONDAY_EARLY, berlin, free_port

ROUNDS = int(os.environ.get("BENCH_DOCUMENT_ROUNDS", "3"))
SIZE = 19 * MB  # under the 20 MB limit once pikepdf has rewritten it
CHUNK = 1 * MB
NOW = MONDAY_EARLY


def stage(url: str, workdir: Path, storage: str) -> tuple[Store, uuid.UUID]:
    """A migrated, seeded database with one appointment and documents in `storage`."""
    upgrade(url)
    store = Store(url)
    with store.transaction() as session:
        seed_defaults(session, without_appliance=True)
    ops.configure(
        store,
        ops.DocumentConfig(
            limits=Limits(max_file=20 * MB, max_appointment=10_000 * MB),
            storage=storage,  # type: ignore[arg-type]
            folder=workdir / "documents",
            work=workdir / "work",
            wrapping=crypto.wrapping_key("bench"),
        ),
    )
    policy = BookingPolicy(timedelta(0), timedelta(days=56), timedelta(minutes=15))
    request = BookingRequest("anmeldung", berlin(2026, 3, 2, 9, 0), "Bench", "b@example.org")
    return store, book(store, policy, NOW, request).appointment.id


def upload(store: Store, appointment: uuid.UUID, path: Path) -> ops.Document:
    """`path` through begin, append in CHUNK pieces, finish."""
    size = path.stat().st_size
    state = ops.begin_upload(
        store, appointment, name=path.name, size=size, item=None, sender="citizen", now=NOW
    )
    with path.open("rb") as file:
        offset = 0
        while chunk := file.read(CHUNK):
            state = ops.append(store, appointment, state.id, offset, chunk, NOW)
            offset += len(chunk)
    return ops.finish(store, appointment, state.id, actor="citizen", now=NOW)


def bare_sink(path: Path, workdir: Path) -> float:
    """Seconds to take the same chunks into a file and fsync it: the floor for any upload."""
    started = time.perf_counter()
    with path.open("rb") as source, (workdir / "sink").open("wb") as sink:
        while chunk := source.read(CHUNK):
            sink.write(chunk)
        sink.flush()
        os.fsync(sink.fileno())
    elapsed = time.perf_counter() - started
    (workdir / "sink").unlink()
    return elapsed


def throughput(url: str, workdir: Path, storage: str, path: Path) -> list[float]:
    """MB/s of ROUNDS uploads of `path`."""
    store, appointment = stage(url, workdir, storage)
    rates = []
    try:
        for _ in range(ROUNDS):
            started = time.perf_counter()
            document = upload(store, appointment, path)
            rates.append(path.stat().st_size / MB / (time.perf_counter() - started))
            ops.delete_document(store, appointment, document.id, actor="admin", now=NOW)
    finally:
        store.dispose()
    return rates


SINK = """
import sys
from gevent.pywsgi import WSGIServer

def app(environ, start_response):
    stream, left = environ["wsgi.input"], int(environ.get("CONTENT_LENGTH") or 0)
    while left > 0:
        left -= len(stream.read(min(left, 65536)) or b"x" * left)
    start_response("204 No Content", [])
    return [b""]

WSGIServer(("127.0.0.1", int(sys.argv[1])), app, log=None).serve_forever()
"""


class RSS:
    """The largest resident memory of a process seen while sampling every 10 ms."""

    def __init__(self, pid: int) -> None:
        self.path = Path(f"/proc/{pid}/status")
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def now(self) -> float:
        for line in self.path.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.now())

    def __enter__(self) -> RSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def served_appointment(url: str) -> str:
    """A migrated, seeded database with one appointment an hour from now; its manage token."""
    upgrade(url)
    store = Store(url)
    with store.transaction() as session:
        seed_defaults(session)
    token, start = new_token(), datetime.now(UTC) + timedelta(hours=1)
    with store.engine.begin() as conn:
        counter = conn.scalar(select(CounterRow.id).limit(1))
        conn.execute(
            insert(AppointmentRow).values(
                id=uuid.uuid4(),
                service_id="anmeldung",
                counter_id=counter,
                start_at=start,
                end_at=start + timedelta(minutes=20),
                status="booked",
                name="Bench",
                email="b@example.org",
                manage_token_hash=hash_token(token),
                join_token_hash=hash_token(new_token()),
                created_at=start - timedelta(days=1),
                updated_at=start - timedelta(days=1),
            )
        )
    store.dispose()
    return token


def http_upload(client: httpx.Client, base: str, path: Path) -> tuple[float, dict[str, Any]]:
    """Seconds for `path` to go up as the page sends it; the document's JSON."""
    started = time.perf_counter()
    size = path.stat().st_size
    begun = client.post(f"{base}/uploads", json={"name": path.name, "size": size})
    begun.raise_for_status()
    upload = f"{base}/uploads/{begun.json()['id']}"
    with path.open("rb") as file:
        offset = 0
        while chunk := file.read(CHUNK):
            client.put(upload, params={"offset": offset}, content=chunk).raise_for_status()
            offset += len(chunk)
    finished = client.post(f"{upload}/finish", json={})
    finished.raise_for_status()
    return time.perf_counter() - started, finished.json()


def sink_rates(path: Path) -> list[float]:
    """MB/s of the same PUTs into the bare WSGI sink."""
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(port)])
    try:
        with httpx.Client(timeout=60) as client:
            deadline = time.monotonic() + 10
            while True:
                try:
                    client.put(f"http://127.0.0.1:{port}/", content=b"x")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            rates = []
            for _ in range(ROUNDS):
                started = time.perf_counter()
                with path.open("rb") as file:
                    while chunk := file.read(CHUNK):
                        client.put(f"http://127.0.0.1:{port}/u", content=chunk).raise_for_status()
                rates.append(path.stat().st_size / MB / (time.perf_counter() - started))
            return rates
    finally:
        sink.terminate()
        sink.wait(10)


def through_http(workdir: Path, path: Path) -> dict[str, Any]:
    """Uploads and downloads through a served hub; its rates and memory."""
    pg = ScratchPostgres()
    hub = None
    try:
        token = served_appointment(pg.url)
        (workdir / "hub").mkdir()
        hub = Hub(pg.url, data_dir=str(workdir / "hub"), rate_limit_enabled="false")
        base = f"{hub.url}/manage/{token}/documents"
        with httpx.Client(timeout=120) as client:
            small = large_pdf(workdir / "small.pdf", 300_000)
            _, warm = http_upload(client, base, small)
            client.get(
                warm["url"] if warm.get("url", "").startswith("http") else hub.url + warm["url"]
            )
            rss = RSS(hub.process.pid)
            before = rss.now()
            rates, downloaded = [], []
            with rss:
                for _ in range(ROUNDS):
                    seconds, document = http_upload(client, base, path)
                    rates.append(path.stat().st_size / MB / seconds)
                    got = 0
                    with client.stream("GET", hub.url + document["url"]) as answer:
                        answer.raise_for_status()
                        for piece in answer.iter_bytes():
                            got += len(piece)
                    downloaded.append(got == document["size"])
                    client.delete(f"{base}/{document['id']}").raise_for_status()
        return {
            "rates": rates,
            "rss_before_mb": before,
            "rss_peak_mb": rss.peak,
            "ok": downloaded,
        }
    finally:
        if hub is not None:
            hub.stop()
        pg.drop()


def heic_ms(workdir: Path) -> list[float]:
    """Milliseconds for a 12 MP HEIC to become an upright JPEG."""
    from PIL import Image

    source = heic(workdir / "IMG_0001.HEIC", (4032, 3024))
    # Something like a photo (gradients, edges), not a flat area the codecs skip through.
    pattern = Image.radial_gradient("L").resize((4032, 3024)).convert("RGB")
    pattern.paste(Image.linear_gradient("L").resize((2016, 1512)).convert("RGB"), (1000, 700))
    import pillow_heif

    pillow_heif.register_heif_opener()
    pattern.save(source, format="HEIF", quality=80)
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        sanitise(Kind.HEIF, source, workdir / "out.jpg", Limits())
        times.append((time.perf_counter() - started) * 1000)
    return times


def merge_results(name: str, metrics: dict[str, Any], runs: dict[str, Any]) -> None:
    """Update our keys in bench/results/NAME.json, keeping everyone else's."""
    path = RESULTS / f"{name}.json"
    body = json.loads(path.read_text()) if path.exists() else {}
    body.setdefault("metrics", {}).update(metrics)
    body["machine"] = machine()
    body["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    body.setdefault("runs", {}).update(runs)
    path.write_text(json.dumps(body, indent=2) + "\n")
    print(json.dumps(body, indent=2))


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-documents-"))
    path = large_pdf(workdir / "scan.pdf", SIZE)
    http = through_http(workdir, path)
    assert all(http["ok"]), "a download came back short"
    baseline = sink_rates(path)
    pg = ScratchPostgres()
    try:
        pipeline = throughput(pg.url, workdir / "pg", "database", path)
    finally:
        pg.drop()
    sqlite = throughput(f"sqlite:///{workdir / 'hub.sqlite3'}", workdir / "lite", "database", path)
    folder = throughput(f"sqlite:///{workdir / 'folder.sqlite3'}", workdir / "dir", "folder", path)
    heic_times = heic_ms(workdir)
    upload_rate, base_rate = statistics.median(http["rates"]), statistics.median(baseline)
    metrics = {
        "upload_mb_per_s": round(upload_rate, 1),
        "upload_baseline_mb_per_s": round(base_rate, 1),
        "upload_ratio": round(upload_rate / base_rate, 3),
        "upload_rss_growth_mb": round(http["rss_peak_mb"] - http["rss_before_mb"], 1),
        "heic_to_jpeg_ms": round(statistics.median(heic_times)),
        "pipeline_mb_per_s": round(statistics.median(pipeline), 1),
        "pipeline_mb_per_s_sqlite": round(statistics.median(sqlite), 1),
        "pipeline_mb_per_s_folder": round(statistics.median(folder), 1),
    }
    runs = {
        "upload_file_mb": round(path.stat().st_size / MB, 2),
        "upload_mb_per_s": [round(r, 2) for r in http["rates"]],
        "upload_baseline_mb_per_s": [round(r, 1) for r in baseline],
        "hub_rss_mb": {
            "before": round(http["rss_before_mb"], 1),
            "peak": round(http["rss_peak_mb"], 1),
        },
        "pipeline_mb_per_s": [round(r, 2) for r in pipeline],
        "heic_to_jpeg_ms": [round(t) for t in heic_times],
        "upload_path": "served hub on loopback (PostgreSQL, database storage), 1 MiB PUTs",
    }
    merge_results("documents", metrics, runs)


if __name__ == "__main__":
    main()

"""The hub served by `buergeramt hub` (gevent) on loopback: probes, API document, races, limits."""

import threading
import uuid
from datetime import datetime

import httpx
from openapi_spec_validator import validate
from sqlalchemy import func, select, text

from hub.store.audit import double_bookings
from hub.store.models import AppointmentRow, OccupancyRow
from tests.support.environment import MONDAY_EARLY, REDIS_URL, need_redis

CLOCK = {"clock_start": MONDAY_EARLY.isoformat(), "rate_limit_enabled": "false"}
SLOT = "2026-03-02T09:00:00+01:00"


def booking(n: int, start: str = SLOT) -> dict:
    return {
        "service_id": "meldebescheinigung",
        "start": start,
        "name": "Erika Mustermann",  # names hold no digits (hub.booking.names)
        "email": f"person{n}@example.org",
    }


def test_probes_metrics_and_openapi_over_loopback(store, serve_hub):
    hub = serve_hub(store.url, **CLOCK)
    assert httpx.get(f"{hub.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{hub.url}/readyz").json()["database"] == "ok"
    document = httpx.get(f"{hub.url}/api/v1/openapi.json").json()
    validate(document)
    assert set(document["paths"]) >= {
        "/appointments/{id}/confirm",
        "/services",
        "/services/{service_id}/slots",
        "/appointments",
        "/appointments/{id}",
    }
    assert document["servers"][0]["url"] == f"{hub.url}/api/v1"
    httpx.get(f"{hub.url}/api/v1/services")
    metrics = httpx.get(f"{hub.url}/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert (
        'buergeramt_http_requests_total{endpoint="api.list_services",method="GET",status="200"}'
        in metrics.text
    )


def test_readyz_reports_an_unreachable_database(serve_hub):
    """The hub starts without its database (it may come up later) but says it is not ready."""
    broken = serve_hub("postgresql+psycopg://postgres@127.0.0.1:1/test", **CLOCK)
    response = httpx.get(f"{broken.url}/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}
    assert httpx.get(f"{broken.url}/healthz").status_code == 200
    services = httpx.get(f"{broken.url}/api/v1/services")
    assert services.status_code == 503
    assert services.json()["error"]["code"] == "unavailable"


def _race(url: str, n: int, start: str = SLOT) -> list[int]:
    barrier = threading.Barrier(n)
    statuses: list[int] = [0] * n

    def one(i: int) -> None:
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            statuses[i] = client.post(
                f"{url}/api/v1/appointments", json=booking(i, start)
            ).status_code

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def _booked_at(store, start: str) -> int:
    with store.transaction() as session:
        return session.scalar(
            select(func.count())
            .select_from(AppointmentRow)
            .where(
                AppointmentRow.status == "booked",
                AppointmentRow.start_at == datetime.fromisoformat(start),
            )
        )


def test_fifty_concurrent_bookings_of_one_slot(store, serve_hub):
    """Two counters, fifty citizens: exactly two win, the rest get 409, the database agrees."""
    hub = serve_hub(store.url, **CLOCK)
    statuses = _race(hub.url, 50)
    assert statuses.count(201) == 2
    assert statuses.count(409) == 48
    assert _booked_at(store, SLOT) == 2
    with store.transaction() as session:
        assert session.scalar(select(func.count()).select_from(OccupancyRow)) == 2 * 2


def test_race_for_the_last_free_counter_has_one_winner(store, serve_hub):
    hub = serve_hub(store.url, **CLOCK)
    start = "2026-03-02T10:30:00+01:00"
    assert httpx.post(f"{hub.url}/api/v1/appointments", json=booking(99, start)).status_code == 201
    statuses = _race(hub.url, 50, start)
    assert statuses.count(201) == 1 and statuses.count(409) == 49
    assert _booked_at(store, start) == 2
    with store.transaction() as session:
        assert double_bookings(session) == 0


def test_rate_limit_answers_429_in_json(store, serve_hub):
    hub = serve_hub(store.url, clock_start=MONDAY_EARLY.isoformat(), rate_limit_booking="3/minute")
    statuses = [
        httpx.post(
            f"{hub.url}/api/v1/appointments",
            json=booking(i, f"2026-03-02T11:{15 * (i % 3):02d}:00+01:00"),
        ).status_code
        for i in range(5)
    ]
    assert statuses == [201, 201, 201, 429, 429]
    limited = httpx.post(f"{hub.url}/api/v1/appointments", json=booking(9))
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    assert httpx.get(f"{hub.url}/api/v1/services").status_code == 200  # reads have their own limit


def test_requests_survive_the_database_dropping_every_connection(pg_store, serve_hub):
    """After PostgreSQL restarts (simulated: every session of the hub killed), no request fails."""
    hub = serve_hub(pg_store.url, **CLOCK)
    with httpx.Client() as client:
        for i in range(3):  # fill the hub's pool with live connections
            start = f"2026-03-03T{8 + i:02d}:00:00+01:00"
            response = client.post(f"{hub.url}/api/v1/appointments", json=booking(i, start))
            assert response.status_code == 201
        with pg_store.engine.connect() as conn:
            killed = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": pg_store.engine.url.database},
            ).scalar()
        assert killed >= 1
        slots = client.get(
            f"{hub.url}/api/v1/services/meldebescheinigung/slots?from=2026-03-03&to=2026-03-03"
        )
        booked = client.post(
            f"{hub.url}/api/v1/appointments", json=booking(7, "2026-03-03T11:00:00+01:00")
        )
    assert slots.status_code == 200 and booked.status_code == 201


def test_a_burst_for_one_address_books_at_most_two(store, serve_hub):
    hub = serve_hub(store.url, **CLOCK)
    starts = [f"2026-03-0{3 + i // 4}T{8 + i % 4:02d}:00:00+01:00" for i in range(10)]
    barrier = threading.Barrier(len(starts))
    answers: list[httpx.Response] = []

    def one(start: str) -> None:
        body = {**booking(0, start), "email": "hoarder@example.org"}
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            answers.append(client.post(f"{hub.url}/api/v1/appointments", json=body))

    threads = [threading.Thread(target=one, args=(s,)) for s in starts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in answers)
    assert codes == [201, 201] + [409] * 8
    assert {r.json()["error"]["code"] for r in answers if r.status_code == 409} == {
        "too_many_appointments"
    }
    with store.transaction() as session:
        held = session.scalar(
            select(func.count())
            .select_from(AppointmentRow)
            .where(AppointmentRow.email == "hoarder@example.org")
        )
    assert held == 2


def test_attempts_per_address_are_limited_across_client_addresses(store, serve_hub):
    hub = serve_hub(
        store.url,
        clock_start=MONDAY_EARLY.isoformat(),
        rate_limit_booking="100/minute",
        rate_limit_per_email="3/hour",
        max_open_per_email="0",
    )
    codes = [
        httpx.post(
            f"{hub.url}/api/v1/appointments",
            json={**booking(i, f"2026-03-03T{8 + i:02d}:00:00+01:00"), "email": "Same@Example.org"},
        ).status_code
        for i in range(4)
    ]
    assert codes == [201, 201, 201, 429]
    other = httpx.post(
        f"{hub.url}/api/v1/appointments", json=booking(5, "2026-03-03T08:00:00+01:00")
    )
    assert other.status_code == 201


def test_two_hub_processes_share_rate_limits_through_redis(store, serve_hub):
    need_redis()
    env = {
        "clock_start": MONDAY_EARLY.isoformat(),
        "redis_url": REDIS_URL,
        "rate_limit_booking": "3/minute",
        "rate_limit_key_prefix": f"test-{uuid.uuid4().hex}",
    }
    hubs = [serve_hub(store.url, **env), serve_hub(store.url, **env)]
    codes = [
        httpx.post(
            f"{hubs[i % 2].url}/api/v1/appointments",
            json=booking(i, f"2026-03-03T{8 + i:02d}:00:00+01:00"),
        ).status_code
        for i in range(4)
    ]
    assert codes == [201, 201, 201, 429]  # counted once across both processes

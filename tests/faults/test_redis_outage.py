"""Redis stopped for 10 s while citizens book (issue 12, point 3): no 5xx, /readyz says so,
rate limits and the Socket.IO fan-out come back by themselves. A private redis-server only."""

from __future__ import annotations

import shutil

import httpx
import pytest

from tests.faults.redis_outage import redis_outage
from tests.support.environment import IN_CI, MONDAY_EARLY, free_port


@pytest.fixture
def redis_server() -> None:
    if shutil.which("redis-server") is None:
        if IN_CI:
            pytest.fail("redis-server not installed – CI must provide it", pytrace=False)
        pytest.skip("redis-server not installed")


def test_booking_goes_on_while_redis_is_down_and_everything_comes_back(
    redis_server, store, tmp_path
):
    figures = redis_outage(tmp_path, store.url, outage_seconds=10)
    print(figures)
    assert figures["redis_outage_fan_out_before"]
    assert figures["redis_outage_5xx"] == 0, figures["redis_outage_errors"]
    assert figures["redis_outage_failed_requests"] == 0, figures["redis_outage_errors"]
    assert figures["redis_outage_bookings_in_second_half"] > 0  # booking went on
    during = figures["redis_outage_readyz_during"]
    assert during["http"] == 200 and during["status"] == "degraded"
    assert during["redis"] == "unreachable"
    assert during["database"] == "ok"
    assert figures["redis_outage_fallback_gauge_during"] == 1
    after = figures["redis_outage_readyz_after"]
    assert after["http"] == 200 and after["status"] == "ready" and after["redis"] == "ok"
    assert figures["redis_outage_fan_out_recovery_s"] is not None
    assert figures["redis_outage_fan_out_recovery_s"] < 60
    assert figures["redis_outage_rate_limit_recovery_s"] is not None
    assert figures["redis_outage_fallback_gauge_after"] == 0
    assert figures["redis_outage_log_lines"] == 1


def test_without_redis_the_limits_still_hold_per_process(store, serve_hub):
    """Nothing listens at the configured Redis: the limits are counted in the process."""
    hub = serve_hub(
        store.url,
        clock_start=MONDAY_EARLY.isoformat(),
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        rate_limit_booking="2/minute",
    )
    codes = [
        httpx.post(
            f"{hub.url}/api/v1/appointments",
            json={
                "service_id": "meldebescheinigung",
                "start": f"2026-03-03T{8 + i:02d}:00:00+01:00",
                "name": "Erika Mustermann",
                "email": f"erika{i}@example.org",
            },
        ).status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 429]
    ready = httpx.get(f"{hub.url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "degraded", "database": "ok", "redis": "unreachable"}
    assert "buergeramt_ratelimit_fallback 1.0" in httpx.get(f"{hub.url}/metrics").text

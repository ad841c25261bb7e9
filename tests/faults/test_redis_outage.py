"""Redis stopped for 10 s while citizens book (issue 12, point 3): no 5xx, /readyz says so,
rate limits and the Socket.IO fan-out come back by themselves. A private redis-server only."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import IN_CI
from tests.faults.redis_outage import redis_outage


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

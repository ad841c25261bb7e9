"""The admin area's statistics page over one year (issue 18, point 5).

A scratch PostgreSQL database gets the default catalogue, 20 counters and a seeded year
(tests/support/statistics_year.py: 90,000 appointments, their calls with milestones and events,
outcomes, device checks, media paths, payments; the triggers of migration 0022 fill
appointment_statistics as they are copied in; VACUUM ANALYZE afterwards, as autovacuum would).
The hub runs in-process (create_app with an injected clock, requests through Flask's test
client: no HTTP server, so the figures are the page's own work: the statistics statements, 14
SVG plots, the template). A supervisor signs in (password, TOTP), then the page for the whole
year is asked ROUNDS times after WARMUP rounds.

- stats_page_p95_ms (target ≤ 300), _p50_, _max_: GET /admin/statistics?from=…&to=… (all
  14 figures, every service), answer complete; the plots' cache emptied before each request
  (during opening hours every booking changes the year's numbers, so plots are drawn anew).
- stats_page_same_data_p95_ms: the same request again with nothing changed: the statistics are
  computed again, the 14 plots come from their cache (hub/web/admin/plots.py).
- stats_compute_p95_ms: hub.operations.statistics.compute alone (the database's share).
- stats_csv_p95_ms: one figure's CSV (/admin/statistics/outcomes.csv), same filters.
- Baseline, same process, same database: baseline_count_p95_ms, one plain
  `SELECT count(*) FROM appointments` over the period; page_over_baseline = the ratio.
- load_before/after: the machine's 1-minute load average (2 cores), for context.

    python bench/admin.py [--rounds 40]

Writes bench/results/admin.json. Needs PostgreSQL (BUERGERAMT_BENCH_POSTGRES_URL).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyotp
from sqlalchemy import text

from bench.common import ScratchPostgres, percentile, write_results
from hub import create_app
from hub.operations import statistics as stats
from hub.operations.accounts import add_user
from hub.store import Store
from hub.store.migrate import upgrade
from hub.store.seed import seed_defaults
from hub.web.admin.plots import _drawn
from tests.support.forms import page_token
from tests.support.hub import make_settings
from tests.support.statistics_year import seed_year

NOW = datetime(2026, 3, 2, 7, 0, tzinfo=ZoneInfo("Europe/Berlin"))
TARGET_P95_MS = 300
WARMUP = 5
PASSWORD = "bench-leitung-1"
SECRET = re.compile(r'<code class="totp-key">([A-Z2-7 ]+)</code>')


class Clock:
    def __init__(self) -> None:
        self.at = NOW

    def __call__(self) -> datetime:
        return self.at


def signed_in(app, clock: Clock):
    """A test client with a supervisor signed in (the second factor set up on the way)."""
    client = app.test_client()
    page = client.get("/admin/sign-in?lang=de").data.decode()
    form = {"csrf_token": page_token(page), "username": "leitung", "password": PASSWORD}
    answer = client.post("/admin/sign-in", data=form)
    page = client.get(answer.headers["Location"]).data.decode()
    secret = SECRET.search(page).group(1).replace(" ", "")
    code = pyotp.TOTP(secret).at(clock.at)
    client.post("/admin/second-factor/set-up", data={"csrf_token": page_token(page), "code": code})
    assert client.get("/admin/statistics?from=2026-03-01&to=2026-03-01").status_code == 200
    return client


def timed(action, rounds: int) -> list[float]:
    for _ in range(WARMUP):
        action()
    spent = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        spent.append((time.perf_counter() - start) * 1000)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--appointments", type=int, default=90_000)
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    scratch = ScratchPostgres()
    try:
        upgrade(scratch.url)
        store = Store(scratch.url)
        with store.transaction() as session:
            seed_defaults(session, without_appliance=True)
        started = time.perf_counter()
        year = seed_year(store, NOW, appointments=args.appointments)
        seed_s = time.perf_counter() - started
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        add_user(store, "leitung", PASSWORD, "supervisor", NOW, "Leitung")
        clock = Clock()
        with tempfile.TemporaryDirectory() as folder:
            app = create_app(
                make_settings(Path(folder), database_url=scratch.url),
                clock=clock,
                store=store,
            )
            client = signed_in(app, clock)
            query = f"from={year.first_day.isoformat()}&to={year.last_day.isoformat()}"
            sizes = []

            def page() -> None:
                _drawn.cache_clear()  # plots drawn anew, as after any change to the data
                answer = client.get(f"/admin/statistics?{query}")
                assert answer.status_code == 200
                sizes.append(len(answer.data))

            def page_again() -> None:  # the same numbers again: the plots come from the cache
                assert client.get(f"/admin/statistics?{query}").status_code == 200

            def one_csv() -> None:
                assert client.get(f"/admin/statistics/outcomes.csv?{query}").status_code == 200

            period = stats.Period(year.first_day, year.last_day)

            def compute() -> None:
                stats.compute(store, period, NOW)

            def count() -> None:
                with store.engine.connect() as conn:
                    conn.execute(
                        text(
                            "SELECT count(*) FROM appointments"
                            " WHERE start_at >= :s AND start_at < :e"
                        ),
                        {"s": period.start, "e": period.end},
                    ).scalar()

            pages = timed(page, args.rounds)
            agains = timed(page_again, args.rounds)
            computes = timed(compute, args.rounds)
            csvs = timed(one_csv, args.rounds)
            counts = timed(count, args.rounds)
    finally:
        scratch.drop()
    p95 = percentile(pages, 95)
    baseline = percentile(counts, 95)
    write_results(
        "admin",
        {
            "stats_page_p95_ms": round(p95, 1),
            "stats_page_p50_ms": round(percentile(pages, 50), 1),
            "stats_page_max_ms": round(max(pages), 1),
            "stats_page_target_p95_ms": TARGET_P95_MS,
            "stats_page_same_data_p95_ms": round(percentile(agains, 95), 1),
            "stats_compute_p95_ms": round(percentile(computes, 95), 1),
            "stats_csv_p95_ms": round(percentile(csvs, 95), 1),
            "baseline_count_p95_ms": round(baseline, 2),
            "page_over_baseline": round(p95 / baseline, 1),
            "page_bytes": sizes[-1],
            "rounds": args.rounds,
            "appointments": year.appointments,
            "calls": year.calls,
            "call_events": year.events,
            "payments": year.payments,
            "seed_s": round(seed_s, 1),
            "database": "postgresql",
            "served": "in-process (create_app, Flask test client; no HTTP server)",
            "load_before": round(load_before, 2),
            "load_after": round(os.getloadavg()[0], 2),
        },
    )


if __name__ == "__main__":
    main()

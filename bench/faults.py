"""Recovery after faults, end to end with real processes (issue 12): the appliance killed with
-9 and restarted mid-call, the hub killed mid-call, the database (a private PostgreSQL) stopped
for 10 s, Redis (a private redis-server) stopped for 10 s under booking traffic.

Each scenario is the one tests/faults runs; this script runs each ROUNDS times and writes
bench/results/faults.json: appliance_restart_recovery_s (restart → citizen sees video again),
hub_restart_recovery_s (hub back → both parties back and video flowing), db_outage_recovery_s
(database back → appliance online and the citizen who tried during the outage in the call),
redis_outage_5xx (answers ≥ 500 while Redis was away; must be 0); also both_restart_recovery_s
(hub and appliance killed at once). Medians; every run listed.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import write_results
from hub.store import Store
from tests.faults import scenarios
from tests.faults.redis_outage import redis_outage, seeded_sqlite
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, MEDIA_ARGS
from tests.support.hub import ServedHub

ROUNDS = int(os.environ.get("BENCH_FAULT_ROUNDS", "3"))


def hub_starter(workdir: Path, hubs: list[ServedHub]) -> Any:
    def start(db_url: str, **env: str) -> ServedHub:
        hub = ServedHub(db_url, {f"BUERGERAMT_{k.upper()}": v for k, v in env.items()}, workdir)
        hubs.append(hub)
        return hub

    return start


def once(name: str, browser: Any) -> dict[str, Any]:
    """One run of one scenario in a fresh folder, database and hub."""
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    hubs: list[ServedHub] = []
    start = hub_starter(workdir, hubs)
    pg = None
    try:
        if name == "db_outage":
            pg, store = scenarios.private_postgres_stage(start, workdir)
        else:
            store = Store(seeded_sqlite(workdir))
        stage = scenarios.set_stage(store, start, workdir)
        try:
            if name == "appliance_restart":
                return scenarios.appliance_restart(stage, browser)
            if name == "hub_restart":
                return scenarios.hub_restart(stage, browser)
            if name == "both_restart":
                return scenarios.both_restart(stage, browser)
            assert pg is not None
            return scenarios.database_outage(pg, stage, browser)
        finally:
            stage.stop()
            store.dispose()
    finally:
        for hub in hubs:
            hub.stop()
        if pg is not None:
            pg.remove()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    from playwright.sync_api import sync_playwright

    runs: dict[str, list[dict[str, Any]]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *MEDIA_ARGS]
        )
        for name in ("appliance_restart", "hub_restart", "both_restart", "db_outage"):
            runs[name] = []
            for _ in range(ROUNDS):
                result = once(name, browser)
                print(name, result, flush=True)
                runs[name].append(result)
        browser.close()
    redis_runs = []
    for _ in range(ROUNDS):
        figures = redis_outage(outage_seconds=10)
        print("redis_outage", figures, flush=True)
        redis_runs.append(figures)

    def median(name: str, key: str = "recovery_s") -> float:
        return round(statistics.median(r[key] for r in runs[name]), 3)

    metrics = {
        "appliance_restart_recovery_s": median("appliance_restart"),
        "hub_restart_recovery_s": median("hub_restart"),
        "db_outage_recovery_s": median("db_outage"),
        "redis_outage_5xx": sum(r["redis_outage_5xx"] for r in redis_runs),
        "appliance_restart_recovery_max_s": round(
            max(r["recovery_s"] for r in runs["appliance_restart"]), 3
        ),
        "both_restart_recovery_s": median("both_restart"),
        "hub_restart_video_while_away_s": median("hub_restart", "video_while_away_s"),
        "db_outage_appliance_online_s": median("db_outage", "appliance_online_s"),
        "db_outage_citizen_in_call_s": median("db_outage", "citizen_in_call_s"),
        "redis_outage_fan_out_recovery_s": statistics.median(
            r["redis_outage_fan_out_recovery_s"] for r in redis_runs
        ),
    }
    write_results(
        "faults",
        metrics,
        rounds=ROUNDS,
        runs={**runs, "redis_outage": redis_runs},
        note="medians of ROUNDS runs; loopback, one machine; outages of 10 s",
    )


if __name__ == "__main__":
    main()

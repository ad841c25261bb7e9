"""Fault scenarios end to end with real processes: a citizen in Chromium, the counter daemon as
its own process, the hub served on loopback. Each returns what it measured; the tests assert on
it and bench/faults.py records it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from hub.store import Store
from hub.store.migrate import upgrade
from hub.store.seed import seed_defaults
from tests.faults.processes import ApplianceProcess, PrivatePostgres
from tests.support.realtime_clients import PASSWORD, Desk, citizen, make_desk

# The hub's clock: ten minutes before a Monday 09:00 appointment (MONDAY_EARLY's day).
BEFORE_NINE = "2026-03-02T08:50:00+01:00"
# Predicates as functions: the page's Content-Security-Policy forbids evaluating strings.
PLAYING = (
    "() => document.getElementById('remote').videoWidth > 0 && "
    "document.getElementById('remote').currentTime > 0.5"
)
IN_CALL = "() => window.bvCall.call === 'in_call'"


@dataclass
class Stage:
    """A hub, its database, a counter appliance process and a booked citizen."""

    hub: Any  # tests.support.hub.ServedHub
    store: Store
    desk: Desk
    booking: Any
    appliance: ApplianceProcess

    def stop(self) -> None:
        self.appliance.stop()


def set_stage(store: Store, start_hub: Callable[..., Any], log_dir: Path) -> Stage:
    """Seed `store`, book 09:00, serve a hub at 08:50 and start the counter's appliance."""
    from datetime import datetime

    now = datetime.fromisoformat(BEFORE_NINE)
    desk = make_desk(store, now)
    booking = desk.book(now.replace(hour=9, minute=0))
    hub = start_hub(store.url, clock_start=BEFORE_NINE, reconnect_grace_seconds="60")
    appliance = ApplianceProcess(hub.url, desk.credentials[booking.counter], PASSWORD, log_dir)
    appliance.launch()
    appliance.wait_online(30)
    return Stage(hub, store, desk, booking, appliance)


def open_call(browser: Any, stage: Stage) -> tuple[Any, Any]:
    """The citizen opens the join link, enters the lobby and is admitted; video plays."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="de-DE")
    page = context.new_page()
    page.goto(f"{stage.hub.url}/join/{stage.booking.join_token}")
    page.get_by_role("button", name="Warteraum betreten").click()
    page.wait_for_function(IN_CALL, timeout=30000)
    page.wait_for_function(PLAYING, timeout=30000)
    return context, page


def wait_video_flowing(page: Any, timeout: float) -> None:
    """The remote video advances by half a second from now (new frames are drawn)."""
    at = page.evaluate("() => document.getElementById('remote').currentTime")
    page.wait_for_function(
        f"() => document.getElementById('remote').currentTime > {at} + 0.5",
        timeout=timeout * 1000,
    )


def call_state(stage: Stage) -> str:
    """The call's state as the hub stored it."""
    from sqlalchemy import select

    from hub.store.models import CallRow

    with stage.store.transaction() as session:
        return session.scalars(
            select(CallRow.state).where(CallRow.appointment_id == stage.booking.id)
        ).one()


def appliance_restart(stage: Stage, browser: Any) -> dict[str, Any]:
    """kill -9 the counter daemon mid-call, start it again a second later: seconds from its
    start until the citizen sees the counter's video again, and the call's state then."""
    context, page = open_call(browser, stage)
    offers = page.evaluate("() => window.bvCall.offers")
    stage.appliance.kill()
    time.sleep(1.0)
    started = time.monotonic()
    stage.appliance.launch()
    page.wait_for_function(f"() => window.bvCall.offers > {offers}", timeout=30000)
    page.wait_for_function(IN_CALL, timeout=30000)
    wait_video_flowing(page, 30)
    recovery = time.monotonic() - started
    result = {"recovery_s": recovery, "state": call_state(stage), "text": _status(page)}
    context.close()
    return result


def hub_restart(stage: Stage, browser: Any) -> dict[str, Any]:
    """kill -9 the hub mid-call and start it again: media goes on peer to peer meanwhile;
    seconds from the hub's start until both parties are back with it and video flows."""
    context, page = open_call(browser, stage)
    stage.hub.kill()
    away_at = page.evaluate("() => document.getElementById('remote').currentTime")
    time.sleep(3.0)
    during = page.evaluate("() => document.getElementById('remote').currentTime") - away_at
    started = time.monotonic()
    stage.hub.launch()
    stage.appliance.wait_online(30)
    page.wait_for_function("() => window.bvCall.socket.connected", timeout=30000)
    page.wait_for_function(IN_CALL, timeout=30000)
    wait_video_flowing(page, 30)
    recovery = time.monotonic() - started
    result = {"recovery_s": recovery, "video_while_away_s": during, "state": call_state(stage)}
    context.close()
    return result


def both_restart(stage: Stage, browser: Any) -> dict[str, Any]:
    """kill -9 the hub and the counter daemon at once mid-call, start both again: seconds from
    their start until the citizen sees the counter's video again."""
    context, page = open_call(browser, stage)
    offers = page.evaluate("() => window.bvCall.offers")
    stage.hub.kill()
    stage.appliance.kill()
    started = time.monotonic()
    stage.hub.launch()
    stage.appliance.launch()
    page.wait_for_function(f"() => window.bvCall.offers > {offers}", timeout=30000)
    page.wait_for_function(IN_CALL, timeout=30000)
    wait_video_flowing(page, 30)
    recovery = time.monotonic() - started
    result = {"recovery_s": recovery, "state": call_state(stage)}
    context.close()
    return result


def private_postgres_stage(
    start_hub: Callable[..., Any], log_dir: Path
) -> tuple[PrivatePostgres, Store]:
    """A private PostgreSQL, migrated and seeded, that the test may stop."""
    pg = PrivatePostgres()
    pg.start()
    upgrade(pg.url)
    store = Store(pg.url)
    with store.transaction() as session:
        seed_defaults(session, without_appliance=True)
    return pg, store


def database_outage(
    pg: PrivatePostgres, stage: Stage, browser: Any, outage_s: float = 10.0
) -> dict[str, Any]:
    """Stop the database for `outage_s` while a citizen tries to join, an appliance starts and
    a forged link tries its luck; measure how long after the database returns until the
    appliance is online and the citizen is in the call."""
    hub = stage.hub
    stage.appliance.stop()  # it starts again during the outage
    pg.stop()
    stopped = time.monotonic()
    ready_during = httpx.get(f"{hub.url}/readyz", timeout=10).status_code
    forged_refusal = citizen(hub.url, "x" * 43).refused()
    citizen_refusal = citizen(hub.url, stage.booking.join_token).refused()
    stage.appliance.launch()
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="de-DE")
    page = context.new_page()
    page.goto(f"{hub.url}/join/{stage.booking.join_token}")
    page.get_by_role("button", name="Warteraum betreten").click()
    page.wait_for_function(
        "() => document.getElementById('call-status').textContent.includes('kurz nicht erreich')",
        timeout=15000,
    )
    said_during = _status(page)
    appliance_during = stage.appliance.hub_state()
    time.sleep(max(0.0, outage_s - (time.monotonic() - stopped)))
    pg.start()
    back = time.monotonic()
    stage.appliance.wait_online(60)
    appliance_s = time.monotonic() - back
    page.wait_for_function(IN_CALL, timeout=60000)
    wait_video_flowing(page, 30)
    citizen_s = time.monotonic() - back
    ready_after = httpx.get(f"{hub.url}/readyz", timeout=10).status_code
    context.close()
    return {
        "recovery_s": max(appliance_s, citizen_s),
        "appliance_online_s": appliance_s,
        "citizen_in_call_s": citizen_s,
        "readyz_during": ready_during,
        "readyz_after": ready_after,
        "forged_refusal": forged_refusal,
        "citizen_refusal": citizen_refusal,
        "citizen_saw": said_during,
        "appliance_during": appliance_during,
    }


def _status(page: Any) -> str:
    return page.evaluate("() => document.getElementById('call-status').textContent")

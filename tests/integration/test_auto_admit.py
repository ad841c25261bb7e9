"""The demo's auto-admit: with a counter screen open it lets the next citizen in only once the
clerk has picked the previous call's outcome; without one (no kiosk, or no page open) nobody is
asked, and the hang-up's outcome stands (no `record` step)."""

from __future__ import annotations

import aiohttp
import pytest
from sqlalchemy import select

from hub.store.models import CallEventRow, CallRow
from tests.support.appliance_runner import RunningAppliance
from tests.support.environment import MONDAY_EARLY, berlin
from tests.support.realtime_clients import PASSWORD, citizen, make_desk


@pytest.fixture
def two_citizens(sqlite_store, serve_hub):
    """A hub at 08:50 (lobby open an hour ahead) with 09:00 and 09:15 at the same counter."""
    desk = make_desk(sqlite_store, MONDAY_EARLY)
    first = desk.book(berlin(2026, 3, 2, 9, 0))
    # Slots go to whichever counter is free: book 09:15 until one lands at the same counter.
    later = [desk.book(berlin(2026, 3, 2, 9, 15), n=n) for n in (1, 2)]
    second = next(b for b in later if b.counter == first.counter)
    hub = serve_hub(
        sqlite_store.url,
        clock_start=berlin(2026, 3, 2, 8, 50).isoformat(),
        join_before_minutes="60",
    )
    return hub, desk, first, second


def auto_admitting(hub, desk, booking, kiosk: bool) -> RunningAppliance:
    return RunningAppliance(
        kiosk=kiosk,
        hub_url=hub.url,
        device_credential=desk.credentials[booking.counter],
        clerk_username="clerk",
        clerk_password=PASSWORD,
        auto_admit=True,
    ).start()


def admitted_within(party, seconds: float) -> bool:
    try:
        party.next("status", timeout=seconds, state="admitted")
    except AssertionError:
        return False
    return True


def recorded(store, booking) -> tuple[str | None, list[str]]:
    with store.transaction() as session:
        outcome = session.get(CallRow, booking.id).outcome
        events = list(
            session.scalars(
                select(CallEventRow.event).where(CallEventRow.appointment_id == booking.id)
            )
        )
    return outcome, events


async def open_screen(url: str) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]:
    """A counter screen: the kiosk page's socket, as its own origin opens it."""
    http = aiohttp.ClientSession()
    return http, await http.ws_connect(f"{url}/ws", headers={"Origin": url})


def test_with_a_screen_open_the_next_citizen_waits_until_the_outcome_is_picked(
    sqlite_store, two_citizens
):
    hub, desk, first, second = two_citizens
    appliance = auto_admitting(hub, desk, first, kiosk=True)
    http, screen = appliance.run(open_screen(appliance.kiosk_url))
    try:
        one = citizen(hub.url, first.join_token).connect()
        assert admitted_within(one, 10)
        assert one.call("hangup", {})["ok"]
        appliance.wait_for(lambda: appliance.counter.to_record is not None)

        two = citizen(hub.url, second.join_token).connect()
        two.next("status", state="waiting")
        # The kiosk still asks how the first call went: nobody is let in meanwhile.
        assert not admitted_within(two, 2)
        reply = appliance.run(appliance.counter.record(str(first.id), "follow_up", ""))
        assert reply.ok, reply
        assert admitted_within(two, 10)
        assert recorded(sqlite_store, first)[0] == "follow_up"
    finally:
        appliance.run(screen.close())
        appliance.run(http.close())
        appliance.stop()


@pytest.mark.parametrize("kiosk", [False, True], ids=["no-kiosk", "no-screen-open"])
def test_without_a_screen_nobody_is_asked_and_the_next_citizen_comes_in(
    sqlite_store, two_citizens, kiosk
):
    hub, desk, first, second = two_citizens
    appliance = auto_admitting(hub, desk, first, kiosk=kiosk)
    try:
        one = citizen(hub.url, first.join_token).connect()
        assert admitted_within(one, 10)
        assert one.call("hangup", {})["ok"]
        two = citizen(hub.url, second.join_token).connect()
        assert admitted_within(two, 10)
        assert appliance.counter.to_record is None  # nothing waits for an answer
        outcome, events = recorded(sqlite_store, first)
        assert outcome == "done" and "record" not in events, events
    finally:
        appliance.stop()


def test_closing_an_admitted_citizen_who_vanished_frees_the_counter(two_citizens):
    """A citizen admitted and gone, closed as "did not come": the appliance lets go of the
    call (the counter screen returns to the day) and the next citizen comes in."""
    hub, desk, first, second = two_citizens
    appliance = auto_admitting(hub, desk, first, kiosk=False)
    try:
        page = citizen(hub.url, first.join_token).connect()
        assert admitted_within(page, 10)
        appliance.wait_for(lambda: str(first.id) in appliance.counter.calls)
        page.close()
        reply = appliance.run(appliance.counter.no_show(str(first.id)))
        assert reply.ok, reply
        assert str(first.id) not in appliance.counter.calls
        nxt = citizen(hub.url, second.join_token).connect()
        assert admitted_within(nxt, 10)
        nxt.close()
    finally:
        appliance.stop()
    assert recorded(desk.store, first)[0] == "no_show"

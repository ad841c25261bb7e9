"""The real appliance daemon (synthetic devices, its own key folder) enrols at a served hub with
an enrolment token, waits showing its claim code, and comes online by itself once IT approves
that code; a refused token and a revoked key are shown as such."""

from __future__ import annotations

import stat
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from appliance.enrolment.keys import KeyStore
from hub.operations.accounts import revoke_device
from hub.operations.enrolment import approve, create_token
from hub.store.models import CounterRow
from tests.integration import test_appliance_refused
from tests.support.appliance_runner import RunningAppliance

appliances = test_appliance_refused.appliances  # the fixture: launched daemons, stopped after


def first_counter(store) -> int:
    with store.transaction() as session:
        return session.scalars(select(CounterRow.id).order_by(CounterRow.id)).first()


def enrolment_token(store, uses: int | None = 1) -> str:
    now = datetime.now(UTC)
    _, secret = create_token(store, "Rathaus 2026", now + timedelta(days=7), uses, None, "it", now)
    return secret


def screen(running: RunningAppliance) -> dict:
    async def state() -> dict:
        assert running.kiosk is not None
        return running.kiosk.state()

    return running.run(state())


def test_an_appliance_enrols_waits_for_it_and_comes_online_by_itself(
    sqlite_store, serve_hub, appliances, tmp_path
):
    hub = serve_hub(sqlite_store.url)
    keys = tmp_path / "keys"
    token = enrolment_token(sqlite_store)
    running = appliances(hub_url=hub.url, enrolment_token=token, key_dir=keys)
    keeper = running.appliance.keeper
    running.wait_for(lambda: keeper.state == "pending")
    shown = screen(running)
    assert shown["screen"] == "enrolment"
    assert shown["enrolment"] == {
        "state": "pending",
        "claim_code": keeper.key.claim_code,
        "fingerprint": keeper.key.fingerprint,
        "hub": hub.url,
    }
    assert stat.S_IMODE((keys / "device.key").stat().st_mode) == 0o600

    counter = first_counter(sqlite_store)
    approve(sqlite_store, keeper.key.claim_code, counter, "Schalter 1", "it", datetime.now(UTC))
    running.wait_for(lambda: running.counter.link == "online", timeout=20)  # polled every ~5 s
    assert running.counter.counter is not None and running.counter.counter.id == counter
    assert screen(running)["screen"] == "sign_in"
    assert screen(running)["enrolment"] is None

    # Restarted (the one-time token is spent): the same key, straight to a token.
    running.stop()
    again = appliances(hub_url=hub.url, enrolment_token=token, key_dir=keys)
    again.wait_for(lambda: again.counter.link == "online", timeout=20)
    assert again.appliance.keeper.key.claim_code == keeper.key.claim_code


def test_a_refused_token_and_a_revoked_key_are_shown_plainly(
    sqlite_store, serve_hub, appliances, tmp_path
):
    hub = serve_hub(sqlite_store.url)
    wrong = appliances(
        hub_url=hub.url, enrolment_token="not-a-token-" + "x" * 20, key_dir=tmp_path / "a"
    )
    wrong.wait_for(lambda: wrong.appliance.keeper.state == "token_refused")
    assert screen(wrong)["screen"] == "enrolment"
    assert screen(wrong)["enrolment"]["state"] == "token_refused"

    running = appliances(
        hub_url=hub.url, enrolment_token=enrolment_token(sqlite_store), key_dir=tmp_path / "b"
    )
    keeper = running.appliance.keeper
    running.wait_for(lambda: keeper.state == "pending")
    _, device = approve(
        sqlite_store,
        keeper.key.claim_code,
        first_counter(sqlite_store),
        "",
        "it",
        datetime.now(UTC),
    )
    running.wait_for(lambda: running.counter.link == "online", timeout=20)
    revoke_device(sqlite_store, device, datetime.now(UTC))
    running.wait_for(lambda: screen(running)["screen"] == "enrolment", timeout=10)
    assert screen(running)["enrolment"]["state"] == "revoked"


def test_the_token_is_renewed_over_the_connection_and_by_challenge_after_a_reconnect(
    sqlite_store, serve_hub, appliances, tmp_path
):
    hub = serve_hub(sqlite_store.url)
    running = appliances(
        hub_url=hub.url, enrolment_token=enrolment_token(sqlite_store), key_dir=tmp_path / "k"
    )
    keeper, link = running.appliance.keeper, running.appliance.link
    running.wait_for(lambda: keeper.state == "pending")
    approve(sqlite_store, keeper.key.claim_code, first_counter(sqlite_store), "", "it", _now())
    running.wait_for(lambda: running.counter.link == "online", timeout=20)

    replies: list[dict | None] = []

    async def renew() -> dict | None:
        replies.append(await link.renew_token())
        return replies[-1]

    assert running.run(keeper._renew(renew))
    assert replies[0] is not None and replies[0]["ok"] is True
    assert keeper.access_token == replies[0]["access_token"] and keeper.fresh()

    # An hour later (the token long run out) the connection drops: the reconnection signs a
    # new challenge before it offers a token.
    challenges = []
    fetch = keeper.client.access_token

    async def counted():
        challenges.append(1)
        return await fetch()

    keeper.client.access_token = counted
    keeper.clock = lambda: time.monotonic() + 3600
    running.run(link.sio.eio.ws.close())  # as a network failure: the client reconnects
    running.wait_for(lambda: running.counter.link != "online", timeout=10)
    running.wait_for(lambda: running.counter.link == "online", timeout=20)
    assert challenges and keeper.access_token


def _now() -> datetime:
    return datetime.now(UTC)


def test_a_key_the_hub_lost_is_enrolled_again_with_the_token(
    sqlite_store, serve_hub, appliances, tmp_path
):
    hub = serve_hub(sqlite_store.url)
    keys = KeyStore(tmp_path / "keys")
    keys.load_or_create()
    keys.note_enrolled(hub.url)  # enrolled once, but this hub's database knows nothing of it
    running = appliances(
        hub_url=hub.url, enrolment_token=enrolment_token(sqlite_store), key_dir=keys.folder
    )
    running.wait_for(lambda: running.appliance.keeper.state == "pending")
    assert screen(running)["enrolment"]["state"] == "pending"

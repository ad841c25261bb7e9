"""Enrolment of appliances over the network, hub side (docs/enrolment.md): signed requests with
real Ed25519 keys against the Flask app (clock injected) and against a served hub with a
python-socketio appliance."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from hub import create_app
from hub.clock import system_clock
from hub.operations import accounts, enrolment
from hub.store.models import (
    DeviceKeyRow,
    DeviceNonceRow,
    DeviceRow,
    EnrolmentTokenRow,
)
from protocol import enrolment as wire
from tests.support.environment import MONDAY_EARLY
from tests.support.hub import make_settings
from tests.support.realtime_clients import Party, appliance, make_desk


class Clock:
    """A clock the test moves."""

    def __init__(self, at):
        self.at = at

    def __call__(self):
        return self.at


@pytest.fixture
def clock():
    return Clock(MONDAY_EARLY)


@pytest.fixture
def hub_app(store, tmp_path, clock):
    return create_app(
        make_settings(tmp_path, database_url=store.url), clock=clock, store=store, TESTING=True
    )


@pytest.fixture
def http(hub_app):
    return hub_app.test_client()


def counter_id(store):
    from hub.store.models import CounterRow

    with store.transaction() as session:
        return session.scalars(select(CounterRow.id).order_by(CounterRow.id)).first()


def token_for(store, clock, uses=None, counter=None, expires=timedelta(days=7)):
    _, secret = enrolment.create_token(
        store, "Batch 1", clock() + expires, uses, counter, "test", clock()
    )
    return secret


class Appliance:
    """An appliance's side of the exchange, with its own key."""

    def __init__(self, key=None):
        self.key = key or Ed25519PrivateKey.generate()
        self.public = wire.b64url(wire.public_key_raw(self.key))

    def body(self, token, moment, nonce=None):
        request = wire.EnrolmentRequest(
            token=token,
            public_key=self.public,
            hostname="counter-pi-7",
            version="1.4.0",
            nonce=nonce or wire.b64url(os.urandom(16)),
            timestamp=wire.utc_timestamp(moment),
        )
        return wire.signed_enrolment(self.key, request)

    def enrol(self, http, token, moment, body=None, signature=None):
        signed_body, signed = self.body(token, moment)
        return post(http, wire.ENROLMENT_PATH, body or signed_body, signature or signed)

    def token(self, http):
        got = post(http, wire.CHALLENGE_PATH, json.dumps({"public_key": self.public}).encode())
        if got.status_code != 200:  # a revoked or unknown key gets no challenge
            return got
        challenge = body_of(got)["challenge"]
        signature = wire.sign(self.key, wire.unb64url(challenge))
        return post(
            http,
            wire.TOKEN_PATH,
            json.dumps(
                {"public_key": self.public, "challenge": challenge, "signature": signature}
            ).encode(),
        )


def post(http, path, body, signature=None):
    headers = {"Content-Type": "application/json"}
    if signature:
        headers[wire.SIGNATURE_HEADER] = signature
    if isinstance(http, str):
        return httpx.post(http + path, content=body, headers=headers, timeout=10)
    return http.post(path, data=body, headers=headers)


def body_of(response):
    return response.get_json() if hasattr(response, "get_json") else response.json()


def code_of(response):
    return body_of(response)["error"]["code"]


def written(store):
    with store.transaction() as session:
        return (
            session.scalar(select(func.count()).select_from(DeviceKeyRow)),
            session.scalar(select(func.count()).select_from(DeviceNonceRow)),
            session.scalar(select(func.count()).select_from(DeviceRow)),
            sorted(session.scalars(select(EnrolmentTokenRow.uses_left)), key=str),
        )


def test_pending_then_approved_by_claim_code_then_an_access_token(store, http, clock, hub_app):
    token = token_for(store, clock)
    pi = Appliance()
    raw = wire.public_key_raw(pi.key)

    first = pi.enrol(http, token, clock())
    assert first.status_code == 202
    assert first.get_json() == {
        "state": "pending",
        "claim_code": wire.claim_code(raw),
        "fingerprint": wire.fingerprint(raw),
        "device_id": None,
    }
    again = pi.enrol(http, token, clock())  # a restart while pending: the same answer, one row
    assert again.status_code == 202 and again.get_json() == first.get_json()
    assert written(store)[0] == 1
    assert [k.hostname for k in enrolment.pending(store)] == ["counter-pi-7"]

    waiting = pi.token(http)
    assert (waiting.status_code, code_of(waiting)) == (403, "pending")

    typed = wire.claim_code(raw).lower().replace("-", " ")  # as IT might type it
    key, device_id = enrolment.approve(store, typed, counter_id(store), "Schalter 1", "it", clock())
    assert key.state == "pending" or key.device_id == device_id
    assert enrolment.pending(store) == []

    granted = pi.token(http)
    assert granted.status_code == 200
    answer = granted.get_json()
    assert answer["expires_in"] == 15 * 60
    assert answer["device"] == {"id": device_id, "name": "Schalter 1", "counter": counter_id(store)}
    secret = hub_app.extensions["settings"].effective_secret_key()
    device = enrolment.authenticate_access(store, secret, answer["access_token"], clock())
    assert device is not None and device.id == device_id
    # Short-lived: refused once expired, and at once when the device is revoked.
    later = clock() + timedelta(minutes=16)
    assert enrolment.authenticate_access(store, secret, answer["access_token"], later) is None
    forged = enrolment.authenticate_access(store, "another hub", answer["access_token"], clock())
    assert forged is None
    accounts.revoke_device(store, device_id, clock())
    assert enrolment.authenticate_access(store, secret, answer["access_token"], clock()) is None
    refused = pi.token(http)
    assert (refused.status_code, code_of(refused)) == (403, "revoked")
    reflashed = pi.enrol(http, token, clock())
    assert (reflashed.status_code, code_of(reflashed)) == (403, "revoked")


def test_a_pre_authorising_token_approves_at_once(store, http, clock):
    counter = counter_id(store)
    token = token_for(store, clock, uses=2, counter=counter)
    answer = Appliance().enrol(http, token, clock())
    assert answer.status_code == 201
    body = answer.get_json()
    assert body["state"] == "approved" and isinstance(body["device_id"], int)
    with store.transaction() as session:
        assert session.get(DeviceRow, body["device_id"]).counter_id == counter


def test_a_challenge_is_used_once_and_expires(store, http, clock):
    token = token_for(store, clock, counter=counter_id(store))
    pi = Appliance()
    pi.enrol(http, token, clock())
    got = post(http, wire.CHALLENGE_PATH, json.dumps({"public_key": pi.public}).encode())
    challenge = got.get_json()["challenge"]
    assert got.get_json()["expires_in"] == 60 and len(wire.unb64url(challenge)) == 32

    def redeem(signature):
        body = {"public_key": pi.public, "challenge": challenge, "signature": signature}
        return post(http, wire.TOKEN_PATH, json.dumps(body).encode())

    forged = redeem(wire.sign(Ed25519PrivateKey.generate(), wire.unb64url(challenge)))
    assert (forged.status_code, code_of(forged)) == (401, "bad_signature")
    reused = redeem(wire.sign(pi.key, wire.unb64url(challenge)))
    assert (reused.status_code, code_of(reused)) == (410, "challenge_expired")

    got = post(http, wire.CHALLENGE_PATH, json.dumps({"public_key": pi.public}).encode())
    challenge = got.get_json()["challenge"]
    clock.at += timedelta(seconds=61)
    late = redeem(wire.sign(pi.key, wire.unb64url(challenge)))
    assert (late.status_code, code_of(late)) == (410, "challenge_expired")

    stranger = Appliance()
    unknown = post(http, wire.CHALLENGE_PATH, json.dumps({"public_key": stranger.public}).encode())
    assert (unknown.status_code, code_of(unknown)) == (403, "unknown_key")


@pytest.mark.parametrize(
    "case",
    [
        "expired_token",
        "used_up_one_time_token",
        "unknown_token",
        "revoked_token",
        "replayed",
        "forged_signature",
        "tampered_body",
        "timestamp_too_old",
        "timestamp_in_the_future",
        "no_signature",
    ],
)
def test_refusals_write_nothing(store, http, clock, case):
    pi = Appliance()
    token = token_for(store, clock, uses=1)
    first_body = pi.body(token, clock())
    if case in {"used_up_one_time_token", "replayed"}:  # the token (or the nonce) used first
        assert post(http, wire.ENROLMENT_PATH, *first_body).status_code == 202
        if case == "used_up_one_time_token":
            pi = Appliance()
    before = written(store)
    moment = clock()
    if case == "expired_token":
        clock.at += timedelta(days=8)
        moment = clock()
    if case == "revoked_token":
        enrolment.revoke_token(store, enrolment.list_tokens(store)[0].id, clock())
        before = written(store)
    if case == "unknown_token":
        token = "x" * 43
    body, signature = pi.body(token, moment)
    if case == "forged_signature":
        signature = wire.sign(Ed25519PrivateKey.generate(), body)
    if case == "tampered_body":
        body = body.replace(b"counter-pi-7", b"counter-pi-8")
    if case == "timestamp_too_old":
        body, signature = pi.body(token, moment - timedelta(minutes=6))
    if case == "timestamp_in_the_future":
        body, signature = pi.body(token, moment + timedelta(minutes=6))
    if case == "no_signature":
        signature = None
    if case == "replayed":  # the very request sent before, byte for byte
        body, signature = first_body
    answer = post(http, wire.ENROLMENT_PATH, body, signature)
    codes = {
        "expired_token": (403, "token_refused"),
        "used_up_one_time_token": (403, "token_refused"),
        "unknown_token": (403, "token_refused"),
        "revoked_token": (403, "token_refused"),
        "replayed": (409, "replayed"),
        "forged_signature": (401, "bad_signature"),
        "tampered_body": (401, "bad_signature"),
        "timestamp_too_old": (401, "stale_timestamp"),
        "timestamp_in_the_future": (401, "stale_timestamp"),
        "no_signature": (401, "bad_signature"),
    }
    assert (answer.status_code, code_of(answer)) == codes[case]
    assert written(store) == before


def cli(hub, *args):
    """`buergeramt …` against the served hub's database, as IT runs it."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-c", "from hub.cli import main; main()", *args],
        env=hub.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_served_hub_enrol_approve_connect_renew_and_revoke(store, serve_hub):
    """IT makes a token and approves by claim code on the command line; the appliance
    connects with its access token, renews it, and is dropped within a second of revocation.
    A device with an old credential still connects beside it."""
    desk = make_desk(store, system_clock())  # legacy devices, one per counter
    hub = serve_hub(store.url, presence_seconds="1")
    made = cli(hub, "enrol", "tokens", "create", "--batch", "Rathaus 2. OG", "--expires", "7d")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    assert "Rathaus 2. OG" in cli(hub, "enrol", "tokens", "list").stdout

    pi = Appliance()
    body, signature = pi.body(token, system_clock())
    enrolled = post(hub.url, wire.ENROLMENT_PATH, body, signature)
    assert enrolled.status_code == 202
    code = enrolled.json()["claim_code"]
    listed = cli(hub, "devices", "pending")
    assert code in listed.stdout and enrolled.json()["fingerprint"] in listed.stdout

    counter = counter_id(store)
    wrong = cli(hub, "devices", "approve", "ZZZ-ZZZ", "--counter", str(counter), "--name", "x")
    assert wrong.returncode != 0 and "no pending appliance" in wrong.stderr
    approved = cli(hub, "devices", "approve", code, "--counter", str(counter), "--name", "S1")
    assert approved.returncode == 0, approved.stderr
    access = pi.token(hub.url).json()

    party = Party(hub.url, "/appliance", {"access_token": access["access_token"]}).connect()
    hello = party.next("hello")
    assert hello["device"] == access["device"]
    renewed = party.call("token_renew")
    assert renewed["ok"] is True and renewed["expires_in"] == 15 * 60
    again = Party(hub.url, "/appliance", {"access_token": renewed["access_token"]})
    assert again.refused() is None  # the renewed token connects (and replaces the first link)
    party = Party(hub.url, "/appliance", {"access_token": renewed["access_token"]}).connect()
    party.next("hello")

    legacy = appliance(hub.url, desk.credentials[counter + 1]).connect()
    assert legacy.next("hello")["device"]["id"] == desk.device_ids[counter + 1]
    assert legacy.call("token_renew")["error"]["code"] == "not_key_enrolled"

    revoked = cli(hub, "devices", "revoke", str(access["device"]["id"]))
    started = time.monotonic()
    assert revoked.returncode == 0, revoked.stderr
    assert party.disconnected.wait(2)
    took = time.monotonic() - started
    assert took < 1.5, took  # the revocations job looks every 0.5 s
    refusal = Party(hub.url, "/appliance", {"access_token": renewed["access_token"]}).refused()
    assert refusal["code"] == "unknown_device"
    assert pi.token(hub.url).json()["error"]["code"] == "revoked"
    assert not legacy.disconnected.is_set()
    legacy.close()


def basic(username, password):
    import base64

    return {
        "Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    }


def test_it_approves_over_http_as_an_admin(store, http, clock):
    accounts.add_user(store, "it-admin", "correct horse battery", "admin", clock())
    accounts.add_user(store, "clerk", "correct horse battery", "clerk", clock())
    pi = Appliance()
    code = pi.enrol(http, token_for(store, clock), clock()).get_json()["claim_code"]
    admin = basic("it-admin", "correct horse battery")

    for headers in ({}, basic("clerk", "correct horse battery"), basic("it-admin", "wrong")):
        refused = http.get("/api/v1/fleet/pending", headers=headers)
        assert (refused.status_code, code_of(refused)) == (401, "admin_required")
        assert refused.headers["WWW-Authenticate"].startswith("Basic ")
    listed = http.get("/api/v1/fleet/pending", headers=admin).get_json()["pending"]
    assert [(k["claim_code"], k["hostname"]) for k in listed] == [(code, "counter-pi-7")]

    def approve(**body):
        return http.post("/api/v1/fleet/approve", json=body, headers=admin)

    unknown = approve(claim_code="ZZZ-ZZZ", counter=counter_id(store))
    assert (unknown.status_code, code_of(unknown)) == (404, "not_pending")
    german = http.post(
        "/api/v1/fleet/approve?lang=de",
        json={"claim_code": "ZZZ-ZZZ", "counter": counter_id(store)},
        headers=admin,
    )
    assert "Zuordnungscode" in body_of(german)["error"]["message"]
    no_counter = approve(claim_code=code, counter=999)
    assert (no_counter.status_code, code_of(no_counter)) == (422, "invalid_field")
    assert written(store)[2] == 0  # no device made
    done = approve(claim_code=code, counter=counter_id(store), name="Schalter 1")
    assert done.status_code == 200 and done.get_json()["state"] == "approved"
    assert pi.token(http).status_code == 200


def test_the_cli_refuses_bad_input_in_one_line_and_writes_nothing(store, tmp_path):
    from tests.integration.test_cli import run as run_cli

    def run(*args):
        return run_cli(tmp_path, *args, env={"BUERGERAMT_DATABASE_URL": store.url})

    create = ("enrol", "tokens", "create", "--batch", "b")
    for args, says in (
        ((*create, "--expires", "7 days"), "not a duration"),
        ((*create, "--uses", "2", "--one-time"), "not both"),
        ((*create, "--uses", "0"), "at least 1"),
        ((*create, "--approve-to", "999"), "no counter with id 999"),
        (("enrol", "tokens", "revoke", "999"), "no enrolment token with id 999"),
        (("devices", "approve", "ABC-DEF", "--counter", "1"), "no pending appliance"),
        (("devices", "revoke", "ABC-DEF"), "no pending appliance"),
    ):
        result = run(*args)
        assert result.returncode != 0, args
        assert says in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert enrolment.list_tokens(store) == []
    made = run(*create, "--one-time", "--expires", "12h")
    assert made.returncode == 0 and "1 appliance(s)" in made.stdout
    assert [t.uses_left for t in enrolment.list_tokens(store)] == [1]


def test_a_one_time_token_enrols_one_of_two_appliances_at_once(store, clock):
    """Counted down in the database: two requests at the same moment get one use between them."""
    import threading

    from hub.fleet.enrolment import EnrolmentRefused, read_enrolment

    token = token_for(store, clock, uses=1)
    requests = [read_enrolment(*Appliance().body(token, clock()), clock()) for _ in range(2)]
    barrier, results = threading.Barrier(2), []

    def enrol(request):
        barrier.wait()
        try:
            results.append(enrolment.enrol(store, request, clock()).state)
        except EnrolmentRefused as refused:
            results.append(refused.code)

    threads = [threading.Thread(target=enrol, args=(r,)) for r in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == ["pending", "token_refused"]
    assert written(store)[0] == 1 and written(store)[3] == [0]


def test_an_enrolled_appliance_reaches_its_calls_documents_with_its_access_token(
    store, http, clock
):
    """The counter's documents API (hub/api/counter_documents.py) takes the access token as
    the realtime link does, and still the old credential; a forged token reads nothing."""
    from tests.support.environment import berlin
    from tests.support.realtime_clients import PASSWORD

    desk = make_desk(store, clock())
    booking = desk.book(berlin(2026, 3, 2, 9, 0))
    pi = Appliance()
    assert pi.enrol(http, token_for(store, clock), clock()).status_code == 202
    raw = wire.public_key_raw(pi.key)
    _, device_id = enrolment.approve(
        store, wire.claim_code(raw), booking.counter, "Schalter neu", "it", clock()
    )
    access = pi.token(http).get_json()["access_token"]
    _, session = accounts.sign_in(store, device_id, "clerk", PASSWORD, clock(), timedelta(hours=8))
    path = f"/api/v1/counter/appointments/{booking.id}/documents"

    def listing(bearer):
        return http.get(
            path, headers={"Authorization": f"Bearer {bearer}", "X-Clerk-Session": session}
        )

    answer = listing(access)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["documents"] == []
    assert listing(access[:-4] + "AAAA").status_code == 401
    accounts.revoke_device(store, device_id, clock())
    assert listing(access).status_code == 401

"""The forms of IT's fleet pages, in-process: approving or rejecting a pending appliance and
asking a device for a remote action. Bad input (fields missing, a wrong claim code, ids that
are no whole numbers, an unknown counter or device) is answered with one clear message and
changes nothing in the database; so are posts without a valid CSRF token or from another
site, and posts by anyone but an administrator."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hub.operations.accounts import add_device, add_user, revoke_device
from hub.operations.enrolment import create_token, pending
from hub.operations.remote import actions_of
from hub.store.models import DeviceKeyRow, DeviceRow, RemoteActionRow
from tests.integration.test_enrolment import Appliance
from tests.support.environment import MONDAY_EARLY
from tests.support.forms import page_token

PASSWORD = "fleet-admin-pw"
ADMIN = ("it", PASSWORD)


@pytest.fixture
def desk(store, client):
    """An admin `it`, a clerk, one device (counter 1) and one appliance waiting for approval."""
    add_user(store, "it", PASSWORD, "admin", MONDAY_EARLY)
    add_user(store, "clerk", PASSWORD, "clerk", MONDAY_EARLY)
    device, _ = add_device(store, 1, "Pi Schalter 1", MONDAY_EARLY)
    _, token = create_token(
        store, "Rathaus", MONDAY_EARLY + timedelta(days=7), None, None, "it", MONDAY_EARLY
    )
    assert Appliance().enrol(client, token, MONDAY_EARLY).status_code == 202
    (key,) = pending(store)
    return store, device.id, key


def snapshot(store) -> tuple:
    """What the forms could change: keys and their states, devices, remote actions."""
    with store.transaction() as session:
        keys = session.execute(select(DeviceKeyRow.id, DeviceKeyRow.state)).all()
        devices = session.execute(select(DeviceRow.id, DeviceRow.revoked_at)).all()
        actions = session.scalar(select(func.count()).select_from(RemoteActionRow))
    return sorted(keys), sorted(devices), actions


def token(client, path: str = "/it/devices") -> str:
    answer = client.get(path, auth=ADMIN)
    assert answer.status_code == 200
    return page_token(answer.get_data(as_text=True))


def post(client, path: str, data: dict, **kw):
    return client.post(path, data=data, auth=ADMIN, **kw)


def approve(client, data: dict, lang: str = "de"):
    return post(client, f"/it/devices?lang={lang}", {**data, "do": "approve"})


def reject(client, data: dict):
    return post(client, "/it/devices", {**data, "do": "reject"})


def shown(answer) -> str:
    """The page's error message (the first one), as a person reads it."""
    page = answer.get_data(as_text=True)
    found = re.search(r'<p class="error"[^>]*>(.*?)</p>', page, re.S)
    assert found, page[:2000]
    return " ".join(html.unescape(found.group(1)).split())


def test_bad_approvals_say_what_is_wrong_and_change_nothing(desk, client):
    store, _, key = desk
    csrf = token(client)
    before = snapshot(store)
    good = {"csrf_token": csrf, "key": str(key.id), "claim_code": key.claim_code, "counter": "2"}
    other_code = "ZZZ-ZZZ" if key.claim_code != "ZZZ-ZZZ" else "YYY-YYY"
    cases = [
        ({"key": ""}, 422, "Das Formular nennt kein Gerät, das auf Freigabe wartet."),
        ({"key": "abc"}, 422, "Das Formular nennt kein Gerät, das auf Freigabe wartet."),
        ({"key": "1.5"}, 422, "Das Formular nennt kein Gerät, das auf Freigabe wartet."),
        ({"key": "-1"}, 422, "Das Formular nennt kein Gerät, das auf Freigabe wartet."),
        ({"key": "999"}, 404, "Kein Gerät, das auf Freigabe wartet, hat diese Nummer."),
        ({"claim_code": ""}, 422, "Geben Sie den Zuordnungscode ein"),
        ({"claim_code": "  "}, 422, "Geben Sie den Zuordnungscode ein"),
        ({"claim_code": other_code}, 422, f"Der Zuordnungscode {other_code} ist nicht der"),
        ({"counter": ""}, 422, "Wählen Sie den Schalter"),
        ({"counter": "zwei"}, 422, "Wählen Sie den Schalter"),
        ({"counter": "0"}, 422, "Wählen Sie den Schalter"),
        ({"counter": "999"}, 422, "Einen Schalter 999 gibt es nicht"),
        ({"name": "x" * 101}, 422, "höchstens 100 Zeichen"),
    ]
    for change, status, message in cases:
        answer = approve(client, {**good, **change})
        assert answer.status_code == status, (change, answer.status_code)
        assert message in shown(answer), (change, shown(answer))
        assert snapshot(store) == before, change
    for do in ("", "revoke"):
        answer = post(client, "/it/devices", {**good, "do": do})
        assert answer.status_code == 422 and "nennt kein Gerät" in shown(answer)
    missing = {k: v for k, v in good.items() if k != "counter"}
    answer = approve(client, missing)
    assert answer.status_code == 422 and "Wählen Sie den Schalter" in shown(answer)
    # What was typed stays in the form, marked; the message is in English with the switch.
    answer = approve(client, lang="en", data={**good, "claim_code": other_code})
    page = answer.get_data(as_text=True)
    assert f'value="{other_code}"' in page and 'aria-invalid="true"' in page
    assert f"The claim code {other_code} is not this appliance's" in shown(answer)
    assert snapshot(store) == before


def test_an_approval_by_the_typed_code_and_then_once_more(desk, client):
    store, _, key = desk
    csrf = token(client)
    typed = key.claim_code.lower().replace("-", " ")  # as a person may type it
    form = {"csrf_token": csrf, "key": str(key.id), "claim_code": typed, "counter": "2"}
    answer = approve(client, {**form, "name": "  Pi Schalter 2  "})
    assert answer.status_code == 303
    with store.transaction() as session:
        row = session.get(DeviceKeyRow, key.id)
        assert row.state == "approved" and row.approved_by == "web:it"
        device = session.get(DeviceRow, row.device_id)
        assert (device.name, device.counter_id) == ("Pi Schalter 2", 2)
    page = client.get(answer.headers["Location"], auth=ADMIN).get_data(as_text=True)
    assert f"Das Gerät mit dem Zuordnungscode {key.claim_code} ist freigegeben" in page

    before = snapshot(store)
    again = approve(client, form)
    assert again.status_code == 409
    assert f"{key.claim_code} ist bereits freigegeben" in shown(again)
    refused = reject(client, {"csrf_token": csrf, "key": str(key.id)})
    assert refused.status_code == 409 and "bereits freigegeben" in shown(refused)
    assert snapshot(store) == before


def test_a_rejection_needs_the_tick_and_is_final(desk, client):
    store, _, key = desk
    csrf = token(client)
    before = snapshot(store)
    form = {"csrf_token": csrf, "key": str(key.id)}
    answer = reject(client, form)
    assert answer.status_code == 422 and "Bestätigen Sie" in shown(answer)
    answer = reject(client, {**form, "key": "x", "confirm": "yes"})
    assert answer.status_code == 422
    assert snapshot(store) == before

    assert reject(client, {**form, "confirm": "yes"}).status_code == 303
    assert pending(store) == []
    answer = approve(client, {**form, "claim_code": key.claim_code, "counter": "1"})
    assert answer.status_code == 409 and "wurde abgelehnt" in shown(answer)


def test_bad_action_requests_say_what_is_wrong_and_store_nothing(desk, client):
    store, device_id, _ = desk
    path = f"/it/devices/{device_id}"
    csrf = token(client, path)
    before = snapshot(store)
    for kind in ("", "selfdestruct", "settings", "update", "logs"):
        answer = post(client, path, {"csrf_token": csrf, "kind": kind})
        assert answer.status_code == 422, kind
        assert "Wählen Sie eine der Aktionen" in shown(answer)
    for bad in ("/it/devices/abc", "/it/devices/1.5", "/it/devices/-1"):
        assert post(client, bad, {"csrf_token": csrf, "kind": "identify"}).status_code == 404
    answer = post(client, "/it/devices/999", {"csrf_token": csrf, "kind": "identify"})
    assert answer.status_code == 404 and "Kein Gerät hat diese Nummer" in answer.get_data(
        as_text=True
    )
    assert client.get("/it/devices/999", auth=ADMIN).status_code == 404

    # Forced: a second step, nothing stored until it is confirmed.
    form = {"csrf_token": csrf, "kind": "restart", "force": "yes"}
    answer = post(client, path, form)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "Sofort, auch während eines Gesprächs: Neu starten?" in page
    assert 'name="confirmed" value="yes"' in page
    assert snapshot(store) == before

    revoke_device(store, device_id, MONDAY_EARLY)
    revoked = snapshot(store)
    answer = post(client, path, {"csrf_token": csrf, "kind": "identify"})
    assert answer.status_code == 409 and "gesperrt" in shown(answer)
    assert snapshot(store) == revoked


def test_actions_are_stored_with_who_asked(desk, client):
    store, device_id, _ = desk
    path = f"/it/devices/{device_id}"
    csrf = token(client, path)
    answer = post(client, path, {"csrf_token": csrf, "kind": "identify"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"{path}#actions")
    form = {"csrf_token": csrf, "kind": "reboot", "force": "yes", "confirmed": "yes"}
    assert post(client, path, form).status_code == 303
    # Without the tick, force is no force; identify is never forced.
    assert post(client, path, {"csrf_token": csrf, "kind": "restart"}).status_code
    form = {"csrf_token": csrf, "kind": "identify", "force": "yes", "confirmed": "yes"}
    assert post(client, path, form).status_code == 303
    listed = [(a.kind, a.force, a.requested_by, a.state) for a in actions_of(store, device_id)]
    assert listed == [
        ("identify", False, "web:it", "requested"),
        ("restart", False, "web:it", "requested"),
        ("reboot", True, "web:it", "requested"),
        ("identify", False, "web:it", "requested"),
    ]
    page = client.get(path, auth=ADMIN).get_data(as_text=True)
    assert "Neustart des Geräts" in page and "(erzwungen)" in page and "angefordert" in page
    fragment = client.get(path, auth=ADMIN).get_data(as_text=True)
    assert fragment.startswith("<section") or 'id="actions"' in fragment
    assert 'data-open="1"' in fragment


def test_posts_without_token_from_another_site_or_by_others_are_refused(desk, client):
    store, device_id, key = desk
    csrf = token(client)
    before = snapshot(store)
    action = f"/it/devices/{device_id}"
    approval = {"do": "approve", "key": str(key.id), "claim_code": key.claim_code, "counter": "1"}
    for path, form in ((action, {"kind": "identify"}), ("/it/devices", approval)):
        for bad in ({}, {"csrf_token": "forged"}):
            answer = post(client, path, {**form, **bad})
            assert answer.status_code == 400
            assert "kein gültiges Sicherheitsmerkmal" in answer.get_data(as_text=True)
        answer = post(
            client, path, {**form, "csrf_token": csrf}, headers={"Origin": "https://evil.test"}
        )
        assert answer.status_code == 400
        assert "von einer anderen Website" in answer.get_data(as_text=True)
        answer = post(
            client,
            path,
            {**form, "csrf_token": csrf},
            headers={"Referer": "https://evil.test/form.html"},
        )
        assert answer.status_code == 400
        clerk = client.post(path, data={**form, "csrf_token": csrf}, auth=("clerk", PASSWORD))
        assert clerk.status_code == 401 and "Basic" in clerk.headers["WWW-Authenticate"]
        nobody = client.post(path, data={**form, "csrf_token": csrf})
        assert nobody.headers["Location"].startswith("/admin/sign-in?next=")
    assert snapshot(store) == before
    # The hub's own origin is welcome.
    answer = post(
        client,
        action,
        {"kind": "identify", "csrf_token": csrf},
        headers={"Origin": "http://hub.test"},
    )
    assert answer.status_code == 303

"""Documents between a citizen and a real counter appliance (core, hub link, HTTP files adapter,
synthetic scanner, kiosk) during a call: a file the citizen sends reaches the counter within a
second, the clerk's review reaches the citizen, and a scan goes to the citizen as one PDF that
the citizen downloads; the kiosk shows the files only to a working clerk."""

from __future__ import annotations

import io
import uuid

import httpx
import pikepdf
import pytest
from PIL import Image

from tests.support.appliance_runner import RunningAppliance
from tests.support.document_http import Citizen, large_photo, pdf
from tests.support.environment import MONDAY_EARLY, berlin
from tests.support.realtime_clients import PASSWORD, citizen, make_desk

pytestmark = pytest.mark.slow
# The document camera photographing a rendered certificate, and SANE's own `test` device (a
# real SANE backend that needs no hardware; Debian's sane-utils).
SCANNERS = {
    "synthetic": {"scanner": "synthetic"},
    "sane": {
        "scanner": "sane",
        "scanner_device": "test",
        "scanner_resolution": 75,
        "scanner_options": "--test-picture Grid",
    },
}


def served(store, serve_hub):
    """The hub at 08:50 on the day of the appointments."""
    return serve_hub(
        store.url,
        clock_start=berlin(2026, 3, 2, 8, 50).isoformat(),
        rate_limit_enabled="false",
        secret_key="documents-at-the-counter",
    )


@pytest.fixture(params=["synthetic"])
def call_under_way(request, sqlite_store, serve_hub, tmp_path):
    """A hub at 08:50, an appointment at 09:00, its counter's appliance (synthetic scanner,
    kiosk) admitting it, and the citizen's page (Socket.IO) in the call."""
    desk = make_desk(sqlite_store, MONDAY_EARLY)
    booking = desk.book(berlin(2026, 3, 2, 9, 0), 0, "anmeldung")
    hub = served(sqlite_store, serve_hub)
    appliance = RunningAppliance(
        kiosk=True,
        hub_url=hub.url,
        device_credential=desk.credentials[booking.counter],
        clerk_username="clerk",
        clerk_password=PASSWORD,
        auto_admit=True,
        document_folders=[str(tmp_path / "druck")],
        **SCANNERS[request.param],
    ).start()
    page = citizen(hub.url, booking.join_token).connect()
    try:
        page.next("status", state="admitted", timeout=15)
        appliance.wait_for(lambda: str(booking.id) in appliance.counter.calls)
        yield hub, appliance, page, booking
    finally:
        page.close()
        appliance.stop()


def held_documents(appliance, appointment: str):
    listing = appliance.counter.desk.documents.get(appointment)
    return listing.documents if listing is not None else []


def test_a_citizens_file_reaches_the_counter_and_the_clerks_review_reaches_the_citizen(
    call_under_way,
):
    hub, appliance, page, booking = call_under_way
    appointment = str(booking.id)
    photo = large_photo(800, 600)
    finished = Citizen(hub.url, "join", booking.join_token).upload("Ausweis.jpg", photo, item=0)
    assert finished.status_code == 201, finished.text
    document = finished.json()["id"]
    # Announced by the hub (the `documents` event), not found by a refresh a minute later.
    appliance.wait_for(
        lambda: document in {d.id for d in held_documents(appliance, appointment)}, timeout=5
    )
    news = page.next("documents", timeout=5)
    assert [d["id"] for d in news["documents"]] == [document]
    assert news["checklist"][0]["state"] == "uploaded"

    answer = appliance.run(
        appliance.counter.desk.review(appointment, document, False, "Bitte ohne Blendung")
    )
    assert answer.ok, answer
    again = page.next("documents", timeout=5)
    assert again["documents"][0]["state"] == "again"
    assert again["checklist"][0]["state"] == "again"
    assert again["checklist"][0]["reason"] == "Bitte ohne Blendung"

    # The kiosk shows the file to the signed-in clerk, fetched from the hub by the appliance.
    shown = httpx.get(f"{appliance.kiosk_url}/documents/{appointment}/{document}")
    assert shown.status_code == 200
    assert Image.open(io.BytesIO(shown.content)).size == (800, 600)
    stranger = httpx.get(f"{appliance.kiosk_url}/documents/{appointment}/{uuid.uuid4()}")
    assert stranger.status_code == 404


def test_a_scan_goes_to_the_citizen_as_one_pdf(call_under_way):
    hub, appliance, page, booking = call_under_way
    appointment = str(booking.id)
    desk = appliance.counter.desk
    for _ in range(2):
        assert appliance.run(desk.scan(), timeout=60).ok
    assert appliance.run(desk.scan(), timeout=60).ok
    assert desk.remove_page(2).ok  # the clerk drops the third page again
    assert desk.rotate_page(1).ok
    preview = httpx.get(f"{appliance.kiosk_url}/scan/{desk.scan_pages[1].id}.jpg")
    assert preview.status_code == 200 and preview.content[:2] == b"\xff\xd8"
    answer = appliance.run(desk.send_scan(appointment, "Meldebescheinigung", None), timeout=60)
    assert answer.ok, answer
    assert desk.scan_pages == []  # sent: nothing kept on the counter
    news = page.next("documents", timeout=5)
    [sent] = [d for d in news["documents"] if d["sender"] == "clerk"]
    assert sent["media_type"] == "application/pdf"
    got = Citizen(hub.url, "join", booking.join_token).download(sent["id"])
    assert got.status_code == 200
    with pikepdf.open(io.BytesIO(got.content)) as document:
        assert len(document.pages) == 2
        first, second = (page.mediabox for page in document.pages)
        # The second page was turned a quarter: its sides are swapped.
        assert (float(first[2]) > float(first[3])) != (float(second[2]) > float(second[3]))


def test_the_kiosk_shows_no_file_to_a_locked_or_absent_clerk(call_under_way):
    hub, appliance, _page, booking = call_under_way
    appointment = str(booking.id)
    finished = Citizen(hub.url, "join", booking.join_token).upload(
        "Ausweis.jpg", large_photo(320, 240)
    )
    document = finished.json()["id"]
    appliance.run(appliance.counter.sign_out())
    refused = httpx.get(f"{appliance.kiosk_url}/documents/{appointment}/{document}")
    assert refused.status_code == 403


def test_documents_sent_ahead_show_in_the_clerks_day(sqlite_store, serve_hub):
    """A file the citizen sends ahead from the manage page counts in the clerk's day list at
    once (the hub tells the counter, which fetches its day again)."""
    desk = make_desk(sqlite_store, MONDAY_EARLY)
    booking = desk.book(berlin(2026, 3, 2, 11, 0), 0, "anmeldung")
    hub = served(sqlite_store, serve_hub)
    appliance = RunningAppliance(
        hub_url=hub.url,
        device_credential=desk.credentials[booking.counter],
        clerk_username="clerk",
        clerk_password=PASSWORD,
    ).start()
    try:

        def entry():
            return next(e for e in appliance.counter.day if e.appointment == str(booking.id))

        appliance.wait_for(
            lambda: any(e.appointment == str(booking.id) for e in appliance.counter.day)
        )
        before = entry().documents
        assert before is not None and before.done == 0 and before.required >= 1
        manage = Citizen(hub.url, "manage", booking.manage_token)
        assert manage.upload("Wohnungsgeberbestaetigung.pdf", pdf(), item=0).status_code == 201
        appliance.wait_for(lambda: entry().documents.done == 1, timeout=5)
        assert entry().documents.required == before.required
    finally:
        appliance.stop()


def _grey(image: bytes, size: tuple[int, int]):
    import numpy as np

    return np.asarray(Image.open(io.BytesIO(image)).convert("L").resize(size), dtype=float)


def _correlation(a, b) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / ((a * a).sum() * (b * b).sum()) ** 0.5)


@pytest.mark.parametrize("call_under_way", ["synthetic", "sane"], indirect=True)
def test_the_citizen_gets_the_page_the_clerk_saw(call_under_way, tmp_path):
    """Scanned with the document camera and with SANE's test device: the page of the PDF the
    citizen downloads, drawn by poppler, is the page the clerk's screen showed."""
    import shutil
    import subprocess

    if shutil.which("scanimage") is None or shutil.which("pdftocairo") is None:
        from tests.support.environment import IN_CI

        assert not IN_CI, "CI installs sane-utils and poppler-utils (.ci/run)"
        pytest.skip("needs scanimage (sane-utils) and pdftocairo (poppler-utils)")
    hub, appliance, page, booking = call_under_way
    desk = appliance.counter.desk
    assert appliance.run(desk.scan(), timeout=60).ok
    shown = httpx.get(f"{appliance.kiosk_url}/scan/{desk.scan_pages[0].id}.jpg").content
    answer = appliance.run(desk.send_scan(str(booking.id), "Scan", None), timeout=60)
    assert answer.ok, answer
    [sent] = [d for d in page.next("documents", timeout=5)["documents"] if d["sender"] == "clerk"]
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(Citizen(hub.url, "join", booking.join_token).download(sent["id"]).content)
    subprocess.run(
        ["pdftocairo", "-png", "-r", "40", "-singlefile", str(pdf), str(tmp_path / "page")],
        check=True,
        capture_output=True,
    )
    drawn = (tmp_path / "page.png").read_bytes()
    size = Image.open(io.BytesIO(shown)).size
    assert _correlation(_grey(shown, size), _grey(drawn, size)) > 0.9
    # And not just any picture: the same comparison against noise says no.
    noise = io.BytesIO()
    Image.effect_noise(size, 64).save(noise, "PNG")
    assert _correlation(_grey(shown, size), _grey(noise.getvalue(), size)) < 0.3


def test_a_file_from_the_print_folder_goes_to_the_citizen_through_the_kiosk(
    call_under_way, tmp_path
):
    """The municipal software printed a certificate into the counter's folder: the kiosk lists
    it during the call, and one command hands it to the citizen, who downloads the same PDF
    (rewritten by the hub, still one page)."""
    import asyncio
    import json

    import aiohttp

    from tests.support.document_http import pdf

    hub, appliance, page, booking = call_under_way
    (tmp_path / "druck").mkdir()
    (tmp_path / "druck" / "Meldebescheinigung.pdf").write_bytes(pdf())

    async def hand_over() -> tuple[dict, dict]:
        url = appliance.kiosk_url
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"{url}/ws", headers={"Origin": url}) as ws,
        ):

            async def text() -> dict:  # state and replies; media frames come as binary
                while (message := await ws.receive(timeout=30)).type != aiohttp.WSMsgType.TEXT:
                    pass
                return json.loads(message.data)

            state: dict = {}
            while not state.get("folder"):
                message = await text()
                state = message["state"] if message["type"] == "state" else state
            [listed] = state["folder"]
            command = {"id": 1, "cmd": "send_file", "appointment": str(booking.id)}
            await ws.send_str(json.dumps({**command, "file": listed["id"]}))
            while (reply := await text())["type"] != "reply":
                pass
            return listed, reply

    listed, reply = asyncio.run_coroutine_threadsafe(hand_over(), appliance.loop).result(60)
    assert listed["name"] == "Meldebescheinigung.pdf"
    assert reply["ok"], reply
    [sent] = [d for d in page.next("documents", timeout=5)["documents"] if d["sender"] == "clerk"]
    assert (sent["name"], sent["media_type"]) == ("Meldebescheinigung.pdf", "application/pdf")
    got = Citizen(hub.url, "join", booking.join_token).download(sent["id"])
    with pikepdf.open(io.BytesIO(got.content)) as document:
        assert len(document.pages) == 1

"""The documents panel on a phone: sent ahead from the manage page days before, and in the call
(a photo with its GPS position and a PDF, the clerk's scan shown in the page), accessible."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.browser.test_call import auto_admitting, joined
from tests.support.document_http import Citizen, clerk_at, gps_of, large_photo, pdf
from tests.support.environment import MONDAY_EARLY, berlin
from tests.support.realtime_clients import make_desk

pytestmark = pytest.mark.browser
SETTINGS = {"rate_limit_enabled": "false", "secret_key": "documents-panel"}


def _file(name: str, mime: str, data: bytes) -> dict:
    return {"name": name, "mimeType": mime, "buffer": data}


def _entry(page, index: int):
    return page.locator("#checklist li").nth(index)


def test_documents_sent_from_the_manage_page_days_ahead(sqlite_store, serve_hub, phone, check):
    desk = make_desk(sqlite_store, MONDAY_EARLY)
    booking = desk.book(berlin(2026, 3, 5, 10, 0), 0, "anmeldung")  # Thursday; today is Monday
    hub = serve_hub(sqlite_store.url, clock_start=MONDAY_EARLY.isoformat(), **SETTINGS)
    page = phone
    page.goto(f"{hub.url}/manage/{booking.manage_token}")
    panel = page.locator("#documents")
    panel.get_by_role("heading", name="Unterlagen").wait_for()
    _entry(page, 0).get_by_text("fehlt").wait_for()
    assert "Personalausweis oder Reisepass" in _entry(page, 0).inner_text()
    assert "Wohnungsgeberbestätigung" in _entry(page, 1).inner_text()
    check.accessible(page)
    check.shot(page, "manage-checklist")

    # The identity card as a PDF, for the first entry (offered first since it is missing).
    assert page.get_by_label("Die Datei, die Sie senden, ist").input_value() == "0"
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Datei auswählen").click()
    chooser.value.set_files(_file("ausweis.pdf", "application/pdf", pdf()))
    _entry(page, 0).get_by_text("gesendet, noch nicht geprüft").wait_for(timeout=15000)
    assert page.locator("#document-status").inner_text() == "ausweis.pdf wurde gesendet."

    # The landlord's confirmation photographed; the line drops during the first piece and the
    # page goes on where the hub says it stopped.
    dropped: list[str] = []

    def drop_first(route):
        if not dropped:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(re.compile(r"/uploads/[^/?]+\?.*offset="), drop_first)
    assert page.get_by_label("Die Datei, die Sie senden, ist").input_value() == "1"
    photo = large_photo()
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Foto aufnehmen").click()
    assert chooser.value.element.get_attribute("capture") == "environment"
    chooser.value.set_files(_file("IMG_0042.jpg", "image/jpeg", photo))
    _entry(page, 1).get_by_text("gesendet, noch nicht geprüft").wait_for(timeout=30000)
    assert dropped and page.evaluate("window.bvDocuments.retries") >= 1
    page.unroute(re.compile(r"/uploads/[^/?]+\?.*offset="))

    mine = page.locator("#from-you li")
    assert mine.count() == 2
    assert "IMG_0042.jpg" in mine.nth(1).inner_text()
    check.accessible(page)
    check.shot(page, "manage-sent")

    # What the hub keeps of the photo: no position.
    listing = Citizen(hub.url, "manage", booking.manage_token).listing().json()
    photo_doc = next(d for d in listing["documents"] if d["name"] == "IMG_0042.jpg")
    kept = httpx.get(hub.url + photo_doc["url"], timeout=30)
    assert gps_of(photo) and gps_of(kept.content) == {}

    # The same in English, after a reload: the states come back from the hub.
    page.goto(f"{hub.url}/manage/{booking.manage_token}?lang=en")
    _entry(page, 1).get_by_text("sent, not checked yet").wait_for()
    check.accessible(page)


@pytest.fixture
def counter(sqlite_store, serve_hub):
    """A hub at 08:50 with a 09:00 An-/Ummeldung, and its counter's appliance auto-admitting."""
    desk = make_desk(sqlite_store, MONDAY_EARLY)
    booking = desk.book(berlin(2026, 3, 2, 9, 0), 0, "anmeldung")
    hub = serve_hub(sqlite_store.url, clock_start=berlin(2026, 3, 2, 8, 50).isoformat(), **SETTINGS)
    appliance = auto_admitting(hub, desk, booking)
    yield hub, desk, booking, sqlite_store
    appliance.stop()


def test_in_the_call_the_citizen_sends_a_photo_and_a_pdf_and_sees_the_clerks_scan(
    counter, media_browser, check
):
    hub, desk, booking, store = counter
    context, page = joined(media_browser, hub, booking)
    toggle = page.get_by_role("button", name="Unterlagen")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert page.locator("#documents").is_hidden()
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    _entry(page, 0).get_by_text("fehlt").wait_for()

    photo = large_photo(seed=3)
    page.set_input_files("#document-camera", _file("IMG_0100.jpg", "image/jpeg", photo))
    _entry(page, 0).get_by_text("gesendet, noch nicht geprüft").wait_for(timeout=30000)
    page.get_by_label("Die Datei, die Sie senden, ist").select_option("1")
    page.set_input_files("#document-file", _file("wohnungsgeber.pdf", "application/pdf", pdf()))
    _entry(page, 1).get_by_text("gesendet, noch nicht geprüft").wait_for(timeout=15000)
    assert page.locator("#from-you li").count() == 2

    citizen = Citizen(hub.url, "join", booking.join_token)
    listing = citizen.listing().json()
    kept = citizen.download(listing["documents"][0]["id"])
    assert kept.headers["content-type"] == "image/jpeg" and gps_of(kept.content) == {}

    # The clerk asks again for one and hands over a scan: the page learns it by itself.
    clerk = clerk_at(
        store,
        hub.url,
        desk.credentials[booking.counter],
        desk.device_ids[booking.counter],
        berlin(2026, 3, 2, 8, 50),
    )
    first = listing["documents"][0]["id"]
    asked = clerk.request(
        "POST",
        clerk.url(booking.id, first, "review"),
        json={"accepted": False, "reason": "Das Foto ist unscharf."},
    )
    assert asked.status_code == 200
    _entry(page, 0).get_by_text("Hinweis der Sachbearbeitung: Das Foto ist unscharf.").wait_for(
        timeout=5000
    )
    handed = clerk.request(
        "POST",
        clerk.url(booking.id),
        params={"name": "Meldebescheinigung.pdf"},
        content=pdf("white", pages=1),
        headers={"Content-Type": "application/pdf"},
    )
    assert handed.status_code == 201
    from_clerk = page.locator("#from-clerk li")
    from_clerk.first.wait_for(timeout=5000)
    assert "Meldebescheinigung.pdf" in from_clerk.first.inner_text()

    # Shown with the browser's own viewer, in our page; the download link saves it.
    with page.expect_response(re.compile(r"/documents/[^/]+/view")) as shown:
        page.get_by_role("button", name="Meldebescheinigung.pdf anzeigen").click()
    assert shown.value.status == 200
    assert shown.value.headers["content-disposition"].startswith("inline")
    frame = page.locator("iframe.document-frame")
    assert frame.get_attribute("title") == "Meldebescheinigung.pdf"
    link = page.get_by_role("link", name="Meldebescheinigung.pdf herunterladen")
    assert httpx.get(hub.url + link.get_attribute("href"), timeout=30).content.startswith(b"%PDF")
    check.accessible(page)
    check.shot(page, "call-documents")

    # The photo shown inline as an image.
    page.get_by_role("button", name="IMG_0100.jpg anzeigen").click()
    page.wait_for_function(
        "() => { const i = document.querySelector('img.document-image');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    check.shot(page, "call-photo-shown")
    context.close()

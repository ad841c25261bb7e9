"""The clerk's touch screen: the kiosk page (Chromium) on the appliance daemon's localhost
server, the hub on loopback, and a second Chromium playing the citizen."""

from __future__ import annotations

import httpx
import pytest

from hub.store.models import CallRow
from tests.browser.test_call import joined_lobby
from tests.support.appliance_runner import RunningAppliance
from tests.support.document_http import Citizen, large_photo
from tests.support.environment import MONDAY_EARLY, berlin
from tests.support.realtime_clients import PASSWORD, make_desk

PIN = "2468"
SIZES = {"1280x800": (1280, 800), "800x480": (800, 480)}  # 800×480: the Pi's touch display

# Mean colour of a whole canvas or video element (the fake camera's picture turns, so a
# patch would differ between two moments; the whole picture's mean does not).
MEAN = """(id) => {
  const source = document.getElementById(id);
  const canvas = document.createElement('canvas');
  canvas.width = 64; canvas.height = 48;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(source, 0, 0, 64, 48);
  const d = ctx.getImageData(0, 0, 64, 48).data;
  const sum = [0, 0, 0];
  for (let i = 0; i < d.length; i += 4) { sum[0] += d[i]; sum[1] += d[i + 1]; sum[2] += d[i + 2]; }
  return sum.map((s) => Math.round(s / (d.length / 4)));
}"""


@pytest.fixture
def counter(sqlite_store, serve_hub):
    """A hub at 08:50 with appointments at 09:00 and 10:00 at one counter, and that counter's
    appliance with its kiosk page (nobody signed in, nothing admitted by itself)."""
    store = sqlite_store
    desk = make_desk(store, MONDAY_EARLY)
    booking = desk.book(berlin(2026, 3, 2, 9, 0))
    # Slots go to whichever counter is free: book 10:00 until one lands at the same counter.
    at_ten = [desk.book(berlin(2026, 3, 2, 10, 0), n=n) for n in (1, 2)]
    later = next(b for b in at_ten if b.counter == booking.counter)
    hub = serve_hub(store.url, clock_start=berlin(2026, 3, 2, 8, 50).isoformat())
    appliance = RunningAppliance(
        kiosk=True,
        hub_url=hub.url,
        device_credential=desk.credentials[booking.counter],
        scanner="synthetic",
    ).start()
    yield hub, booking, later, appliance, store
    appliance.stop()


def kiosk_page(browser, appliance, size: str, query: str = ""):
    width, height = SIZES[size]
    # bypass_csp: axe-core is injected as an inline script; the page itself runs under its CSP.
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale="de-DE", bypass_csp=True
    )
    page = context.new_page()
    page.goto(f"{appliance.kiosk_url}/{query}")
    return context, page


def on_screen(page, screen: str, timeout: float = 15000) -> None:
    page.wait_for_function(f"() => document.body.dataset.screen === '{screen}'", timeout=timeout)


def sign_in(page, password: str = PASSWORD) -> None:
    on_screen(page, "sign_in")
    page.get_by_label("Benutzername").fill("clerk")
    page.get_by_label("Passwort").fill(password)
    page.get_by_label("Schnell-PIN (4 bis 8 Ziffern)").fill(PIN)
    page.get_by_role("button", name="Anmelden").click()


def outcome_of(store, booking) -> tuple[str | None, str | None]:
    with store.transaction() as session:
        row = session.get(CallRow, booking.id)
        return row.outcome, row.notes


@pytest.mark.parametrize("size", list(SIZES))
def test_a_clerk_signs_in_admits_talks_and_records_the_outcome(counter, media_browser, check, size):
    hub, booking, _, appliance, store = counter
    context, page = kiosk_page(media_browser, appliance, size)

    # Sign-in: a wrong password is said plainly; the right one opens the day.
    sign_in(page, password="falsch-falsch")
    assert page.get_by_role("alert").inner_text() == "Benutzername oder Passwort ist falsch."
    check.accessible(page)
    check.shot(page, f"{size}-sign-in")
    sign_in(page)
    on_screen(page, "day")
    agenda = page.locator("#day")
    page.wait_for_function("() => document.querySelectorAll('#day li').length === 2")
    assert "09:00" in agenda.locator("li").nth(0).inner_text()
    assert "10:00" in agenda.locator("li").nth(1).inner_text()
    assert page.locator("#waiting").inner_text() == "Niemand wartet."
    # At 08:50 nobody is late yet: nothing to close as a no-show.
    assert page.get_by_role("button", name="Nicht erschienen: Person 0").count() == 0
    assert page.locator("#chip-hub").get_attribute("data-state") == "online"
    check.accessible(page)
    check.shot(page, f"{size}-day")

    # The citizen enters the lobby: the kiosk shows and announces it.
    citizen, citizen_page = joined_lobby(media_browser, hub, booking)
    card = page.locator("#waiting .card")
    card.wait_for()
    assert "Person 0" in card.inner_text()
    card.get_by_text("Gerätetest: bereit").wait_for(timeout=10000)  # posted by the page
    assert page.locator("#lobby-cue").inner_text() == "Person 0 wartet im Wartebereich."
    check.accessible(page)
    check.shot(page, f"{size}-lobby")

    # Admit: the citizen's fake camera plays on the kiosk, their microphone reaches it too.
    page.get_by_role("button", name="Einlassen: Person 0").click()
    on_screen(page, "call")
    page.wait_for_function("() => window.bvKiosk.frames.citizen > 30", timeout=20000)
    page.wait_for_function("() => window.bvKiosk.audioFrames > 50", timeout=20000)
    page.wait_for_function("() => window.bvKiosk.frames.self > 10", timeout=20000)
    sent = citizen_page.evaluate(MEAN, "preview")
    shown = page.evaluate(MEAN, "citizen-video")
    assert max(sent) > 60, sent  # the fake camera's picture is not black
    assert all(abs(a - b) < 40 for a, b in zip(sent, shown, strict=True)), (sent, shown)
    assert page.locator("#call-quality").inner_text().startswith("Verbindung")
    # The service's checklist, each item with its state (nothing sent ahead here).
    checklist = page.locator("#checklist li")
    assert checklist.count() >= 1
    assert "fehlt" in checklist.nth(0).inner_text()

    # Mute reaches the appliance's outgoing audio; notes are kept while typing.
    page.get_by_role("button", name="Stumm").click()
    page.wait_for_function("() => document.getElementById('mute').ariaPressed === 'true'")
    assert appliance.counter.sending.microphone is False
    page.get_by_role("button", name="Ton an").click()
    # Camera off: the citizen sees black instead of the counter's picture, and it comes back.
    page.get_by_role("button", name="Kamera aus").click()
    citizen_page.wait_for_function(f"() => ({MEAN})('remote').every((c) => c < 20)", timeout=10000)
    page.get_by_role("button", name="Kamera an").click()
    citizen_page.wait_for_function(f"() => Math.max(...({MEAN})('remote')) > 60", timeout=10000)
    page.locator("#call-notes").fill("Ausweis geprüft, Meldebestätigung fehlt")
    check.accessible(page)
    check.shot(page, f"{size}-call")

    # End: the citizen is told at once; the clerk picks the outcome in one tap.
    page.get_by_role("button", name="Gespräch beenden").click()
    on_screen(page, "outcome")
    citizen_page.wait_for_function("() => window.bvCall.call === 'ended'", timeout=10000)
    assert page.locator("#outcome-notes").input_value() == "Ausweis geprüft, Meldebestätigung fehlt"
    check.accessible(page)
    check.shot(page, f"{size}-outcome")
    page.get_by_role("button", name="Nachbearbeitung nötig").click()
    on_screen(page, "day")
    assert outcome_of(store, booking) == ("follow_up", "Ausweis geprüft, Meldebestätigung fehlt")
    page.locator("#day li").nth(0).get_by_text("Nachbearbeitung nötig").wait_for()
    citizen.close()
    context.close()


def test_the_kiosk_shows_the_offline_screen_and_comes_back_by_itself(counter, browser, check):
    hub, _, _, appliance, _ = counter
    context, page = kiosk_page(browser, appliance, "800x480")
    sign_in(page)
    on_screen(page, "day")

    hub.kill()
    on_screen(page, "offline", timeout=10000)
    assert page.locator("#chip-hub").get_attribute("data-state") == "offline"
    assert page.get_by_role("heading", level=1).inner_text() == "Keine Verbindung zum Server"
    check.accessible(page)
    check.shot(page, "offline")

    hub.launch()  # no touch on the kiosk: it reconnects, the clerk is still signed in
    on_screen(page, "day", timeout=20000)
    assert page.locator("#chip-hub").get_attribute("data-state") == "online"
    assert "Frau Schmidt" in page.locator("#clerk-name").inner_text()
    context.close()


def test_the_screen_locks_and_opens_with_the_pin(counter, browser, check):
    _, _, _, appliance, _ = counter
    context, page = kiosk_page(browser, appliance, "800x480")
    sign_in(page)
    on_screen(page, "day")
    page.get_by_role("button", name="Sperren").click()
    on_screen(page, "locked")
    page.wait_for_function("() => !document.body.textContent.includes('Person 0')")  # names gone
    check.accessible(page)
    check.shot(page, "locked")

    for digit in "1111":
        page.get_by_role("button", name=digit, exact=True).click()
    page.get_by_role("button", name="Öffnen").click()
    assert page.get_by_role("alert").inner_text() == "Falsche PIN. Noch 4 Versuche."
    for digit in PIN:
        page.get_by_role("button", name=digit, exact=True).click()
    page.get_by_role("button", name="Öffnen").click()
    on_screen(page, "day")
    page.locator("#day li").first.wait_for()
    context.close()


def test_a_booking_made_after_sign_in_shows_in_the_day_within_two_seconds(counter, browser):
    hub, _, _, appliance, _ = counter
    context, page = kiosk_page(browser, appliance, "800x480")
    sign_in(page)
    on_screen(page, "day")
    page.wait_for_function("() => document.querySelectorAll('#day li').length === 2")
    # Two bookings at 11:00 (one for each counter, whichever way they fall), through the API.
    for first in ("Anna", "Bernd"):
        booked = httpx.post(
            f"{hub.url}/api/v1/appointments",
            json={
                "service_id": "meldebescheinigung",
                "start": berlin(2026, 3, 2, 11, 0).isoformat(),
                "name": f"{first} Spät",
                "email": f"{first.lower()}@example.org",
            },
        )
        assert booked.status_code == 201, booked.text
    page.wait_for_function("() => document.querySelectorAll('#day li').length === 3", timeout=2000)
    assert "11:00" in page.locator("#day li").nth(2).inner_text()
    context.close()


def test_a_clerk_signed_in_without_a_pin_is_not_offered_a_lock_that_cannot_open(
    sqlite_store, serve_hub, browser
):
    # The demo's appliance signs its clerk in itself: no PIN was set at this screen.
    desk = make_desk(sqlite_store, MONDAY_EARLY)
    hub = serve_hub(sqlite_store.url, clock_start=berlin(2026, 3, 2, 8, 50).isoformat())
    appliance = RunningAppliance(
        kiosk=True,
        hub_url=hub.url,
        device_credential=desk.credentials[1],
        clerk_username="clerk",
        clerk_password=PASSWORD,
    ).start()
    try:
        context, page = kiosk_page(browser, appliance, "800x480")
        on_screen(page, "day")
        assert "Frau Schmidt" in page.locator("#clerk-name").inner_text()
        assert page.get_by_role("button", name="Sperren").count() == 0
        context.close()
    finally:
        appliance.stop()


def test_the_kiosk_speaks_english_too_and_says_when_the_appliance_is_gone(counter, browser, check):
    _, _, _, appliance, _ = counter
    context, page = kiosk_page(browser, appliance, "800x480", "?lang=en")
    on_screen(page, "sign_in")
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in at this counter"
    assert page.locator("#chip-hub .text").inner_text() == "connected"
    # The own camera delivers: its chip says so (and would say "no picture" otherwise).
    page.wait_for_function("() => document.getElementById('chip-camera').dataset.state === 'ok'")
    assert page.locator("#chip-camera .text").inner_text() == "working"
    assert page.locator("#chip-microphone").get_attribute("data-state") == "ok"  # it is heard
    check.accessible(page)
    check.shot(page, "english-sign-in")

    # The appliance's server goes away (daemon restarting): the page says so, then recovers.
    appliance.run(appliance.kiosk.stop())
    page.get_by_text("The counter appliance is not answering").wait_for(timeout=10000)
    check.accessible(page)
    check.shot(page, "appliance-gone")
    appliance.run(appliance.kiosk.start())
    on_screen(page, "sign_in", timeout=15000)
    context.close()


def test_the_clerk_sees_reviews_and_scans_documents_in_the_call(counter, media_browser, check):
    """The citizen's photo appears on the kiosk, the clerk looks at it and asks for it again
    with a reason; then scans two pages, turns one and sends them as one PDF."""
    hub, booking, _, appliance, _ = counter
    context, page = kiosk_page(media_browser, appliance, "1280x800")
    sign_in(page)
    on_screen(page, "day")
    citizen, _citizen_page = joined_lobby(media_browser, hub, booking)
    page.get_by_role("button", name="Einlassen: Person 0").click()
    on_screen(page, "call")

    phone = Citizen(hub.url, "join", booking.join_token)
    photo = phone.upload("Ausweis.jpg", large_photo(640, 480), item=0)
    assert photo.status_code == 201, photo.text
    files = page.locator("#documents li")
    files.get_by_text("Ausweis.jpg").wait_for(timeout=5000)
    assert "von der Bürgerin / dem Bürger" in files.nth(0).inner_text()
    page.locator("#checklist li").nth(0).get_by_text("hochgeladen – bitte prüfen").wait_for()

    page.get_by_role("button", name="Anzeigen: Ausweis.jpg").click()
    shown = page.locator("#viewer img")
    page.wait_for_function("() => document.querySelector('#viewer img').naturalWidth === 640")
    check.accessible(page)
    check.shot(page, "documents-viewer")
    page.get_by_role("button", name="Schließen").click()
    assert not shown.is_visible()

    page.get_by_role("button", name="Erneut anfordern: Ausweis.jpg").click()
    page.get_by_label("Warum wird es erneut gebraucht?").fill("Bitte ohne Blendung")
    page.get_by_role("button", name="Anfordern: Ausweis.jpg", exact=True).click()
    page.locator("#checklist li").nth(0).get_by_text("erneut angefordert").wait_for()
    listed = phone.listing().json()
    assert listed["checklist"][0]["reason"] == "Bitte ohne Blendung"

    for count in (1, 2):
        page.get_by_role("button", name="Scannen", exact=True).click()
        page.wait_for_function(
            f"() => document.querySelectorAll('#scan-pages img').length === {count}",
            timeout=30000,
        )
    page.get_by_role("button", name="Drehen: Seite 2").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#scan-pages img')].every((i) => i.naturalWidth > 0)"
    )
    check.accessible(page)
    check.shot(page, "documents-scanned")
    page.get_by_label("Name des Dokuments").fill("Meldebescheinigung")
    page.get_by_role("button", name="An die Bürgerin / den Bürger senden").click()
    files.get_by_text("Meldebescheinigung").wait_for(timeout=10000)
    assert page.locator("#scan-pages img").count() == 0
    [sent] = [d for d in phone.listing().json()["documents"] if d["sender"] == "clerk"]
    assert sent["media_type"] == "application/pdf"
    citizen.close()
    context.close()

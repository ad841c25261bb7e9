"""A citizen books, receives the mail, moves and cancels, on a phone, in German and English."""

import re
import shutil

import pytest

from hub.store import Store
from hub.store.seed import seed_defaults
from tests.support.environment import MONDAY_EARLY

pytestmark = pytest.mark.browser


@pytest.fixture
def start_hub(sqlite_template, tmp_path, serve_hub, mailbox):
    """Serve a hub on a fresh seeded SQLite file, mailing to `mailbox`; `**env` adds settings."""

    def start(**env: str):
        path = tmp_path / f"hub-{len(list(tmp_path.glob('hub-*.sqlite3')))}.sqlite3"
        shutil.copy(sqlite_template, path)
        store = Store(f"sqlite:///{path}")
        with store.transaction() as session:
            seed_defaults(session, without_appliance=True)
        store.dispose()
        settings = {
            "clock_start": MONDAY_EARLY.isoformat(),
            "rate_limit_enabled": "false",
            "smtp_host": "127.0.0.1",
            "smtp_port": str(mailbox.port),
            "smtp_security": "none",
            "secret_key": "browser-test",
            "mail_poll_seconds": "0.2",
            **env,
        }
        return serve_hub(f"sqlite:///{path}", **settings)

    return start


@pytest.fixture
def hub(start_hub):
    return start_hub()


def book_first_time(page, base_url, service, name, email, lang="de"):
    """Open the service's times, take the first one, fill the form and send it."""
    labels = {
        "de": ("E-Mail-Adresse", "Datenschutzerklärung", "Termin buchen"),
        "en": ("E-mail address", "privacy notice", "Book appointment"),
    }[lang]
    page.goto(f"{base_url}/book/{service}" + ("?lang=en" if lang == "en" else ""))
    page.locator(".times a").first.click()
    page.get_by_label("Name").fill(name)
    page.get_by_label(labels[0]).fill(email)
    page.get_by_label(re.compile(labels[1])).check()
    page.get_by_role("button", name=labels[2]).click()


def test_book_receive_mail_move_and_cancel_on_a_phone(hub, phone, mailbox, check):
    page = phone
    page.goto(hub.url + "/")
    assert page.locator("html").get_attribute("lang") == "de"
    check.accessible(page)
    check.shot(page, "services")

    page.get_by_role("link", name="Melde- und Aufenthaltsbescheinigung").click()
    page.wait_for_url(re.compile(r"/book/meldebescheinigung"))
    check.accessible(page)
    check.shot(page, "times")
    first_time = page.locator(".times a").first
    chosen = first_time.inner_text()
    first_time.click()

    # Sending the empty form shows errors tied to their fields.
    page.get_by_role("button", name="Termin buchen").click()
    name = page.get_by_label("Name")
    assert name.get_attribute("aria-invalid") == "true"
    assert page.locator("#name-error").inner_text() == "Bitte geben Sie Ihren Namen ein."
    check.accessible(page)
    check.shot(page, "errors")

    name.fill("Erika Mustermann")
    page.get_by_label("E-Mail-Adresse").fill("erika@example.org")
    page.get_by_label(re.compile("Datenschutzerklärung")).check()
    page.get_by_role("button", name="Termin buchen").click()
    page.wait_for_url(re.compile(r"/manage/.+\?booked=1"))
    assert "Ihr Termin ist gebucht" in page.content()
    assert chosen in page.locator(".summary").inner_text()
    check.accessible(page)
    check.shot(page, "booked")

    [mail] = mailbox.wait_for(1)
    text = mail.get_body(("plain",)).get_content()
    manage_url = re.search(r"http\S+/manage/\S+", text).group(0)
    page.goto(manage_url)
    page.get_by_role("link", name="Andere Zeit wählen").click()
    check.accessible(page)
    page.locator(".days a").nth(1).click()
    page.locator(".times button").first.click()
    page.wait_for_url(re.compile(r"moved=1"))
    assert "Ihr Termin wurde verlegt" in page.content()
    check.shot(page, "moved")

    page.get_by_role("button", name="Termin absagen").click()
    page.wait_for_load_state()
    assert "Dieser Termin wurde abgesagt." in page.content()
    check.accessible(page)
    check.shot(page, "cancelled")
    subjects = [m["Subject"] for m in mailbox.wait_for(3)]
    assert subjects[1].startswith("Ihr Videotermin wurde verlegt")
    assert subjects[2].startswith("Abgesagt")


def test_pages_in_english_are_accessible_and_the_choice_is_remembered(hub, phone, check):
    page = phone
    page.goto(hub.url + "/?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    check.accessible(page)
    page.get_by_role("link", name="Certificate of good conduct").click()
    assert page.locator("html").get_attribute("lang") == "en"  # remembered without ?lang
    assert page.get_by_role("heading", name="Choose a time").is_visible()
    check.accessible(page)
    page.locator(".times a").first.click()
    check.accessible(page)
    check.shot(page, "details-en")
    for path in ("/privacy", "/imprint"):
        page.goto(hub.url + path)
        check.accessible(page)
    page.get_by_role("link", name="Deutsch").click()
    assert page.locator("html").get_attribute("lang") == "de"


def test_no_page_scrolls_sideways_on_a_360_px_phone(hub, phone):
    book_first_time(phone, hub.url, "meldebescheinigung", "Erika Mustermann", "erika@example.org")
    phone.wait_for_url(re.compile(r"/manage/"))
    manage = phone.url
    for url in (
        hub.url + "/",
        hub.url + "/book/schwerbehindertenparkausweis",
        hub.url + "/privacy",
        manage,
        manage.split("?")[0] + "/move",
    ):
        phone.goto(url)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, url


def test_demo_outbox_page_shows_the_mail_with_working_links(start_hub, tmp_path, phone, check):
    hub = start_hub(smtp_host="", outbox_page="true", outbox_dir=str(tmp_path / "outbox"))
    page = phone
    book_first_time(page, hub.url, "fuehrungszeugnis", "Max Mustermann", "max@example.org")
    page.wait_for_url(re.compile(r"/manage/"))
    for _ in range(50):
        page.goto(hub.url + "/outbox")
        if page.locator(".cards a").count():
            break
        page.wait_for_timeout(100)
    check.accessible(page)
    # When it went, in Berlin time and German form (the mail's header says UTC).
    sent = page.locator(".cards .facts").first.inner_text()
    assert re.search(r"· \d\d\.\d\d\.\d{4}, \d\d:\d\d$", sent), sent
    check.shot(page, "outbox")
    page.locator(".cards a").first.click()
    check.accessible(page)
    check.shot(page, "outbox-mail")
    page.locator("a[href*='/manage/']").click()
    assert page.get_by_role("heading", name="Ihr Termin").is_visible()
    assert "Max Mustermann" in page.locator(".summary").inner_text()


def test_with_holds_the_citizen_confirms_from_the_mail_in_english(start_hub, phone, mailbox, check):
    hub = start_hub(hold_minutes="15")
    page = phone
    book_first_time(page, hub.url, "anmeldung", "Jane Doe", "jane@example.org", lang="en")
    page.wait_for_url(re.compile(r"check-your-mail"))
    assert page.get_by_role("heading", name="Please check your e-mail").is_visible()
    check.accessible(page)
    check.shot(page, "check-mail")

    [mail] = mailbox.wait_for(1)
    assert mail["Subject"].startswith("Please confirm")
    manage_url = re.search(r"http\S+/manage/\S+", mail.get_body(("plain",)).get_content()).group(0)
    page.goto(manage_url)
    check.accessible(page)
    check.shot(page, "held")
    page.get_by_role("button", name="Confirm appointment").click()
    page.wait_for_url(re.compile(r"booked=1"))
    assert "Your appointment is booked" in page.content()
    check.accessible(page)
    assert mailbox.wait_for(2)[1]["Subject"].startswith("Your video appointment on")
    page.goto(hub.url + "/manage/" + "x" * 43)
    assert page.get_by_role("heading", name=re.compile("does not exist")).is_visible()
    check.accessible(page)


def test_booking_works_with_the_keyboard_alone(hub, browser):
    """No mouse: skip link, tab to a service, a time, fill the form, tick consent, submit."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    page = context.new_page()
    page.goto(hub.url + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Zum Inhalt springen"

    def tab_to(predicate: str, limit: int = 60) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(
                f"(() => {{ const e = document.activeElement; return {predicate}; }})()"
            ):
                return
        raise AssertionError(f"never reached: {predicate}")

    tab_to("e.textContent.includes('Führungszeugnis') && e.tagName === 'A'")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("/book/fuehrungszeugnis"))
    tab_to("e.classList.contains('button')")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("/details"))
    tab_to("e.id === 'name'")
    page.keyboard.type("Erika Mustermann")
    page.keyboard.press("Tab")
    page.keyboard.type("erika@example.org")
    tab_to("e.id === 'consent'")
    page.keyboard.press("Space")
    tab_to("e.type === 'submit'")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/manage/.+booked=1"))
    assert "Ihr Termin ist gebucht" in page.content()
    context.close()

"""A supervisor handles appointments in the admin pages in Chromium (issue 18, point 3): signs
in with a TOTP code, finds a citizen's appointment (a name search without a short range or a
service is refused), books for a citizen who phones with the keyboard alone (the confirmation
mail goes out), moves that appointment and cancels it with a reason (the citizen's mails go
out, each change is in the audit list). axe-core in German and English, at 1280 px and on a
tablet; screenshots.

The served hub's clock starts at MONDAY_EARLY (a Monday, 07:00 in Berlin) and runs on; TOTP
codes are made for the hub's time, so the test passes at any hour in any time zone."""

from __future__ import annotations

import re
import shutil
import uuid
from datetime import datetime

import httpx
import pytest
from sqlalchemy import select

from hub.booking.status import Status
from hub.operations.accounts import add_user
from hub.store import Store
from hub.store.models import AppointmentRow, MailRow
from hub.store.seed import seed_defaults
from tests.support.admin_pages import DESK, TABLET, HubTime, first_sign_in
from tests.support.environment import MONDAY_EARLY

pytestmark = pytest.mark.browser

PASSWORD = "leitung-pw-1"


@pytest.fixture
def office(sqlite_template, tmp_path, serve_hub, mailbox):
    """A served hub on a seeded SQLite file with a supervisor, mailing to `mailbox`;
    (hub, store, clock)."""
    path = tmp_path / "appointments.sqlite3"
    shutil.copy(sqlite_template, path)
    store = Store(f"sqlite:///{path}", catalogue_ttl=0)
    with store.transaction() as session:
        seed_defaults(session, without_appliance=True)
    add_user(store, "leitung", PASSWORD, "supervisor", MONDAY_EARLY, "Frau Leitung")
    clock = HubTime()
    hub = serve_hub(
        store.url,
        clock_start=MONDAY_EARLY.isoformat(),
        rate_limit_enabled="false",
        smtp_host="127.0.0.1",
        smtp_port=str(mailbox.port),
        smtp_security="none",
        secret_key="appointments-browser-test",
        mail_poll_seconds="0.2",
    )
    yield hub, store, clock
    store.dispose()


def wait_for_mails(mailbox, count: int) -> list:
    messages = mailbox.wait_for(count)
    assert len(messages) >= count, [m["Subject"] for m in messages]
    return messages


def focused(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def press_tab_until(page, element_id: str, limit: int = 60) -> None:
    """Tab until the element with `element_id` has the focus, as a keyboard user gets there."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page) == element_id:
            return
    raise AssertionError(f"#{element_id} not reached by Tab")


def appointments(store: Store) -> list[AppointmentRow]:
    with store.transaction() as session:
        rows = session.scalars(select(AppointmentRow).order_by(AppointmentRow.created_at)).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def mail_kinds(store: Store, appointment_id: uuid.UUID) -> list[str]:
    with store.transaction() as session:
        return list(
            session.scalars(
                select(MailRow.kind)
                .where(MailRow.appointment_id == appointment_id, MailRow.kind != "reminder")
                .order_by(MailRow.id)
            )
        )


def test_a_supervisor_finds_books_for_a_caller_moves_and_cancels(office, browser, mailbox, check):
    hub, store, clock = office
    citizen = httpx.post(
        f"{hub.url}/api/v1/appointments?lang=de",
        json={
            "service_id": "fuehrungszeugnis",
            "start": "2026-03-03T09:00:00+01:00",
            "name": "Erika Mustermann",
            "email": "erika@example.org",
        },
    )
    assert citizen.status_code == 201, citizen.text
    reference = citizen.json()["id"].replace("-", "")[:8].upper()
    wait_for_mails(mailbox, 1)

    context = browser.new_context(viewport=DESK, locale="de-DE")
    page = context.new_page()
    try:
        # Sign in through the pages; the first sign-in sets up the authenticator app.
        first_sign_in(page, hub.url, "/admin/appointments", "leitung", PASSWORD, clock)
        assert page.get_by_role("link", name="Termine").get_attribute("aria-current") == "page"

        # Tuesday's appointments: the citizen's, without a name.
        page.get_by_label("Erster Tag").fill("2026-03-03")
        page.get_by_label("Letzter Tag").fill("2026-03-03")
        page.get_by_role("button", name="Suchen").click()
        assert page.get_by_role("status").inner_text() == "1 Termin gefunden."
        table = page.get_by_role("table", name="Termine vom 2026-03-03 bis 2026-03-03")
        assert reference in table.inner_text() and "Führungszeugnis" in table.inner_text()
        assert "Mustermann" not in table.inner_text()
        check.accessible(page)
        check.shot(page, "search-de")

        # By name over two months without a service: refused, and said why.
        page.get_by_label("Erster Tag").fill("2026-03-01")
        page.get_by_label("Letzter Tag").fill("2026-04-30")
        page.get_by_label("Name oder E-Mail-Adresse der Person").fill("Mustermann")
        page.get_by_role("button", name="Suchen").click()
        alert = page.get_by_role("alert").inner_text()
        assert "wählen Sie ein Anliegen oder einen Zeitraum von höchstens 31 Tagen" in alert
        assert page.get_by_role("table").count() == 0
        check.accessible(page)
        check.shot(page, "name-search-refused-de")
        page.get_by_label("Anliegen").select_option("fuehrungszeugnis")
        page.get_by_role("button", name="Suchen").click()
        assert "Erika Mustermann" in page.get_by_role("table").inner_text()

        # A citizen phones: service and day, then the form by keyboard alone.
        page.get_by_role("link", name="Für einen Anruf buchen").click()
        page.wait_for_url("**/admin/appointments/new")
        check.accessible(page)
        press_tab_until(page, "service")
        page.keyboard.press("ArrowDown")  # the first service in the list
        page.keyboard.press("ArrowDown")  # the second: Abmeldung bei Umzug ins Ausland
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")  # "Freie Zeiten zeigen"
        page.wait_for_url("**/admin/appointments/new?service=abmeldung")
        assert page.get_by_label("Anliegen").input_value() == "abmeldung"
        days = page.locator(".days a")
        assert days.first.get_attribute("aria-current") == "date"  # the first day with times
        press_tab_until(page, "time-0")
        page.keyboard.press("ArrowRight")  # the second free time
        assert page.locator("#time-1").is_checked()
        chosen = page.locator("#time-1").get_attribute("value")
        page.keyboard.press("Tab")
        assert focused(page) == "name"
        page.keyboard.type("Jürgen Anrufer")
        page.keyboard.press("Tab")
        page.keyboard.type("juergen@example.org")
        page.keyboard.press("Tab")
        assert focused(page) == "phone"
        page.keyboard.type("06221 58-0")
        page.keyboard.press("Tab")
        assert focused(page) == "locale"
        page.keyboard.press("Tab")
        assert focused(page) == "beyond_limit"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == (
            "Buchen und Bestätigung senden"
        )
        check.shot(page, "book-for-caller-de")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/admin/appointments/[0-9a-f-]{36}$"))
        status = page.get_by_role("status").inner_text()
        assert status.startswith("Gebucht für 2026-03-02 ")
        assert "Die Bestätigung mit dem Link zum Videotermin geht an juergen@example.org." in status
        check.accessible(page)
        check.shot(page, "booked-de")
        caller = appointments(store)[-1]
        assert (caller.name, caller.phone, caller.status) == (
            "Jürgen Anrufer",
            "06221 58-0",
            Status.BOOKED,
        )
        assert caller.start_at == datetime.fromisoformat(chosen)
        confirmation = wait_for_mails(mailbox, 2)[1]
        assert confirmation["To"] == "juergen@example.org"
        assert "/join/" in confirmation.get_body(("plain",)).get_content()

        # Move it to Wednesday's first free time.
        page.get_by_role("link", name="Andere Zeit wählen").click()
        page.wait_for_url("**/move")
        page.locator(".days a", has_text="4. März").click()
        page.wait_for_url("**day=2026-03-04")
        check.accessible(page)
        check.shot(page, "move-de")
        page.locator(".times button").first.click()
        page.wait_for_url(re.compile(r"/admin/appointments/[0-9a-f-]{36}$"))
        assert "verschoben" in page.get_by_role("status").inner_text()
        assert "Mittwoch, 4. März 2026" in page.locator(".summary").inner_text()
        moved = wait_for_mails(mailbox, 3)[2]
        assert moved["Subject"].startswith("Ihr Videotermin wurde verlegt auf Mittwoch")

        # Cancel with a reason; the citizen reads it.
        reason = "Die zuständige Kollegin ist an diesem Tag nicht im Haus."
        page.get_by_label("Grund (die Bürgerin oder der Bürger liest ihn in der E-Mail)").fill(
            reason
        )
        page.get_by_role("button", name="Termin stornieren und Bescheid geben").click()
        page.wait_for_url(re.compile(r"/admin/appointments/[0-9a-f-]{36}$"))
        assert "storniert" in page.get_by_role("status").inner_text()
        assert "storniert" in page.locator(".summary").inner_text()
        assert reason in page.locator(".summary").inner_text()
        check.accessible(page)
        check.shot(page, "cancelled-de")
        cancelled = wait_for_mails(mailbox, 4)[3]
        assert cancelled["Subject"].startswith("Abgesagt: Ihr Videotermin am Mittwoch")
        assert (
            f"Begründung des Bürgeramts: {reason}" in cancelled.get_body(("plain",)).get_content()
        )
        assert mail_kinds(store, caller.id) == ["confirmation", "rescheduled", "cancelled"]

        # In English.
        page.get_by_role("link", name="English").click()
        page.wait_for_url("**lang=en")
        assert page.get_by_role("heading", name=f"Appointment {caller.id.hex[:8].upper()}")
        assert "cancelled" in page.locator(".summary").inner_text()
        check.accessible(page)
        check.shot(page, "cancelled-en")
        page.goto(
            f"{hub.url}/admin/appointments?from=2026-03-01&to=2026-04-30&who=someone@example.org"
        )
        assert "choose a service or a date range of at most 31 days" in (
            page.get_by_role("alert").inner_text()
        )
        check.accessible(page)
        page.goto(f"{hub.url}/admin/appointments/new?service=fuehrungszeugnis&day=2026-03-04")
        assert page.get_by_role("heading", name="Book for a citizen who phones").is_visible()
        check.accessible(page)
        check.shot(page, "book-for-caller-en")

        # Every change in the audit list, without the citizen's name.
        page.goto(f"{hub.url}/admin/audit?action=appointment.")
        rows = page.locator("table tbody tr")
        assert rows.count() == 3
        listed = page.locator("table").inner_text()
        for action in ("appointment.book", "appointment.move", "appointment.cancel"):
            assert action in listed
        assert "Jürgen" not in listed and "juergen@" not in listed and "58-0" not in listed

        # A tablet: the pages fit without sideways scrolling, and stay clean.
        page.set_viewport_size(TABLET)
        for path in (
            "/admin/appointments?lang=de&from=2026-03-02&to=2026-03-06",
            "/admin/appointments/new?service=fuehrungszeugnis&day=2026-03-04",
            f"/admin/appointments/{caller.id}",
        ):
            page.goto(hub.url + path)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            check.accessible(page)
        check.shot(page, "tablet-appointment-de")
        page.goto(hub.url + "/admin/appointments/new?service=fuehrungszeugnis&day=2026-03-04")
        check.shot(page, "tablet-book-de")
    finally:
        context.close()

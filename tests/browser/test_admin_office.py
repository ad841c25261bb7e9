"""A supervisor runs the office from the admin pages in Chromium (issue 18): signs in with a
TOTP code, closes the office on a day with 5 appointments (the confirm step lists them, then
each citizen gets one mail with a link to book again and the day's times are gone), gives one
counter Wednesday afternoon hours by keyboard alone (the booking page offers them), takes the
other counter out of service moving its appointment (a new booking lands elsewhere). A clerk,
signed in, cannot open the pages. axe-core in German and English, at 1280 px and on a tablet;
screenshots.

The served hub's clock starts at MONDAY_EARLY (a Monday, 07:00 in Berlin) and runs on; the
TOTP codes are made for the hub's time, so the test passes at any hour in any time zone."""

from __future__ import annotations

import re
import shutil
import uuid

import httpx
import pytest
from sqlalchemy import delete

from hub.operations.accounts import add_user
from hub.operations.audit import entries
from hub.store import Store
from hub.store.models import AppointmentRow, OpeningPeriodRow
from hub.store.seed import seed_defaults
from tests.support.admin_pages import DESK, TABLET, HubTime, first_sign_in
from tests.support.environment import MONDAY_EARLY

pytestmark = pytest.mark.browser

PASSWORD = "leitung-pw-1"
CITIZENS = [  # Tuesday 3 March 2026: the day the office closes
    ("08:00", "fuehrungszeugnis", "Anna Albers", "de"),
    ("08:00", "meldebescheinigung", "Bernd Berg", "de"),
    ("09:00", "fuehrungszeugnis", "Clara Christ", "en"),
    ("09:00", "anmeldung", "Dora Dorn", "de"),
    ("10:00", "fuehrungszeugnis", "Emil Engel", "de"),
]


@pytest.fixture
def office(sqlite_template, tmp_path, serve_hub, mailbox):
    """A served hub on a seeded SQLite file whose Standard schedule has mornings only (no
    afternoons), a supervisor and a clerk, mailing to `mailbox`; (hub, store, clock)."""
    path = tmp_path / "office.sqlite3"
    shutil.copy(sqlite_template, path)
    store = Store(f"sqlite:///{path}", catalogue_ttl=0)
    with store.transaction() as session:
        seed_defaults(session, without_appliance=True)
        session.execute(delete(OpeningPeriodRow).where(OpeningPeriodRow.opens_minute >= 12 * 60))
    add_user(store, "leitung", PASSWORD, "supervisor", MONDAY_EARLY, "Frau Leitung")
    add_user(store, "schalter", PASSWORD, "clerk", MONDAY_EARLY)
    clock = HubTime()
    hub = serve_hub(
        store.url,
        clock_start=MONDAY_EARLY.isoformat(),
        rate_limit_enabled="false",
        smtp_host="127.0.0.1",
        smtp_port=str(mailbox.port),
        smtp_security="none",
        secret_key="office-browser-test",
        mail_poll_seconds="0.2",
    )
    yield hub, store, clock
    store.dispose()


def book(hub, start: str, service: str, name: str, lang: str) -> str:
    email = name.split()[0].lower() + "@example.org"
    answer = httpx.post(
        f"{hub.url}/api/v1/appointments?lang={lang}",
        json={"service_id": service, "start": f"{start}+01:00", "name": name, "email": email},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def counter_of(store: Store, appointment_id: str) -> int:
    with store.transaction() as session:
        return session.get(AppointmentRow, uuid.UUID(appointment_id)).counter_id


def day_links(page) -> list[str]:
    return [
        re.search(r"day=([\d-]+)", h).group(1)
        for h in page.locator(".days a").evaluate_all("links => links.map(a => a.href)")
    ]


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


def focus_by_tab(page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element `selector` has the focus (as a keyboard user gets there)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement === document.querySelector({selector!r})"):
            return
    raise AssertionError(f"{selector} not reached by Tab")


def test_a_supervisor_closes_a_day_sets_hours_and_takes_a_counter_out_of_service(
    office, browser, mailbox, check
):
    hub, store, clock = office
    booked = [book(hub, f"2026-03-03T{t}:00", s, n, lang) for t, s, n, lang in CITIZENS]
    thursday = book(hub, "2026-03-05T08:00:00", "fuehrungszeugnis", "Frieda Fink", "de")
    confirmations = mailbox.wait_for(6)
    assert len(confirmations) == 6

    context = browser.new_context(viewport=DESK, locale="de-DE")
    page = context.new_page()
    try:
        first_sign_in(page, hub.url, "/admin/counters", "leitung", PASSWORD, clock)
        assert page.get_by_role("heading", name="Schalter", exact=True).is_visible()
        assert page.get_by_role("link", name="Schließungen").is_visible()
        check.accessible(page)
        check.shot(page, "counters-de")

        # --- the closure: the appointments first, then cancelled and mailed ----------------
        citizen = browser.new_context(viewport=DESK, locale="de-DE")
        booking = citizen.new_page()
        booking.goto(f"{hub.url}/book/fuehrungszeugnis")
        assert "2026-03-03" in day_links(booking)

        page.get_by_role("link", name="Schließungen").click()
        page.wait_for_url("**/admin/closures")
        check.accessible(page)
        page.get_by_label("Erster Tag").fill("2026-03-03")
        page.get_by_label("Grund (für die Mitarbeitenden, optional)").fill("Betriebsausflug")
        page.get_by_role("button", name="Termine an diesen Tagen prüfen").click()
        page.wait_for_url("**/admin/closures/check**")
        assert page.get_by_role("heading", level=1).inner_text() == (
            "Am Dienstag, 3. März 2026 schließen?"
        )
        rows = page.locator("table.closure-hits tbody tr")
        assert rows.count() == 5
        listed = rows.all_inner_texts()
        assert [r.split("\t")[1][:5] for r in listed] == [
            "08:00",
            "08:00",
            "09:00",
            "09:00",
            "10:00",
        ]
        assert "Melde- und Aufenthaltsbescheinigung" in " ".join(listed)
        assert not any(name in page.content() for _, _, name, _ in CITIZENS)  # no names
        check.accessible(page)
        check.shot(page, "closure-confirm-de")
        page.get_by_role("button", name="Schließen und 5 Termine absagen").click()
        page.wait_for_url(re.compile(r"/admin/closures$"))
        assert (
            page.get_by_role("status")
            .inner_text()
            .startswith("Geschlossen am 2026-03-03. 5 Termine wurden abgesagt")
        )
        assert page.get_by_role("row", name=re.compile("Betriebsausflug")).is_visible()
        check.accessible(page)
        check.shot(page, "closures-de")

        closed = [m for m in mailbox.wait_for(11)[6:]]
        assert len(closed) == 5
        to = sorted(m["To"] for m in closed)
        assert to == sorted(n.split()[0].lower() + "@example.org" for _, _, n, _ in CITIZENS)
        for mail in closed:  # one each, in the citizen's language, with a link to book again
            text = mail.get_body(("plain",)).get_content()
            service = next(
                s for _, s, n, _ in CITIZENS if mail["To"].startswith(n.split()[0].lower())
            )
            lang = "en" if mail["To"].startswith("clara") else "de"
            assert f"{hub.url}/book/{service}?lang={lang}" in text, text
        english = next(m for m in closed if m["To"].startswith("clara"))
        assert english["Subject"].startswith("Cancelled: the citizens' office is closed on Tuesday")
        link = re.search(r"http\S+/book/\S+", english.get_body(("plain",)).get_content()).group(0)
        booking.goto(link)  # the citizen follows it: the closed day is no longer offered
        assert booking.locator("html").get_attribute("lang") == "en"
        assert "2026-03-03" not in day_links(booking) and "2026-03-04" in day_links(booking)
        with store.transaction() as session:
            states = {session.get(AppointmentRow, uuid.UUID(i)).status.value for i in booked}
        assert states == {"cancelled"}

        # --- Wednesday afternoon at one counter, typed by keyboard alone ----------------------
        booking.goto(f"{hub.url}/book/fuehrungszeugnis?day=2026-03-04&lang=de")
        assert booking.locator(".times a").last.inner_text() == "11:45"  # mornings only
        other = 3 - counter_of(store, thursday)  # the counter that stays in service
        page.goto(f"{hub.url}/admin/counters/{other}")
        focus_by_tab(page, "#day2")
        assert page.evaluate("document.activeElement.labels[0].textContent") == "Mittwoch"
        page.keyboard.press("Control+A")
        page.keyboard.type("08:00-12:00, 14:00-17:30")
        focus_by_tab(page, "form.hours-form button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(rf"/admin/counters/{other}$"))
        assert page.get_by_role("status").inner_text() == (
            f"Neue Wochenzeiten für Schalter {other} gespeichert."
        )
        assert page.get_by_label("Mittwoch").input_value() == "08:00–12:00, 14:00–17:30"
        check.accessible(page)
        check.shot(page, "counter-hours-de")
        booking.reload()
        times = booking.locator(".times a").all_inner_texts()
        assert "14:00" in times and times[-1] == "17:15"

        # --- out of service: its appointment moves, new bookings land elsewhere ------------
        busy = counter_of(store, thursday)
        page.goto(f"{hub.url}/admin/counters/{busy}")
        page.get_by_role("link", name="Außer Betrieb nehmen …").click()
        page.wait_for_url(f"**/admin/counters/{busy}/deactivate")
        assert page.get_by_text("Er hat 1 Termin vor sich:").is_visible()
        assert "Donnerstag, 5. März 2026" in page.locator("table").inner_text()
        check.accessible(page)
        check.shot(page, "deactivate-de")
        page.get_by_role("button", name="Verlegen und außer Betrieb nehmen").click()
        page.wait_for_url(re.compile(rf"/admin/counters/{busy}$"))
        assert "ist außer Betrieb. 1 Termin wurde" in page.get_by_role("status").inner_text()
        assert counter_of(store, thursday) == other
        check.accessible(page)

        booking.goto(f"{hub.url}/book/fuehrungszeugnis?day=2026-03-06&lang=de")
        booking.locator(".times a").first.click()
        booking.get_by_label("Name").fill("Gustav Graf")
        booking.get_by_label("E-Mail-Adresse").fill("gustav@example.org")
        booking.get_by_label(re.compile("Datenschutzerklärung")).check()
        booking.get_by_role("button", name="Termin buchen").click()
        booking.wait_for_url(re.compile(r"/manage/.+\?booked=1"))
        with store.transaction() as session:
            newest = session.query(AppointmentRow).filter_by(email="gustav@example.org").one()
            assert newest.counter_id == other

        # --- every change in the audit list, by the page's user ---------------------------
        done = [(e.action, e.actor) for e in entries(store)[0]]
        for action in ("closure.add", "counter.hours", "counter.deactivate"):
            assert (action, "web:leitung") in done

        # --- English, and a tablet -------------------------------------------------------
        page.goto(f"{hub.url}/admin/counters")
        page.get_by_role("link", name="English").click()
        page.wait_for_url("**lang=en")
        assert page.get_by_role("heading", name="Counters", exact=True).is_visible()
        assert f"Schalter {busy}" in page.locator(".counter-state.out").locator("..").inner_text()
        check.accessible(page)
        check.shot(page, "counters-en")
        page.goto(f"{hub.url}/admin/closures/check?first_day=2026-03-02&last_day=2026-03-01")
        assert "The last day cannot lie before the first." in page.content()
        check.accessible(page)
        check.shot(page, "closure-error-en")
        page.set_viewport_size(TABLET)
        for path in ("/admin/counters", f"/admin/counters/{other}", "/admin/closures"):
            page.goto(hub.url + path)
            check.accessible(page)
            no_sideways_scroll(page)
        check.shot(page, "closures-tablet-en")
        page.goto(f"{hub.url}/admin/counters/{other}?lang=de")
        check.shot(page, "counter-tablet-de")
        citizen.close()
    finally:
        context.close()


def test_a_clerk_cannot_open_the_counters_page(office, browser):
    hub, _, clock = office
    context = browser.new_context(viewport=DESK, locale="de-DE")
    page = context.new_page()
    try:  # a clerk signs in as everyone does, for their own day only (test_admin_my_day.py)
        first_sign_in(page, hub.url, "/admin/my-day", "schalter", PASSWORD, clock)
        for path in ("/admin/counters", "/admin/closures", "/admin/services"):
            assert page.goto(f"{hub.url}{path}").status == 403, path
    finally:
        context.close()

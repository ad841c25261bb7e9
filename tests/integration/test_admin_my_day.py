"""A clerk's own day in the admin area ("Mein Tag", /admin/my-day): a clerk signs in with
password and TOTP like everyone, lands there and may open nothing else; the page lists the
day's appointments at the counters where the clerk signed in at an appliance within 30 days
(every active counter without any), with time, service, the citizen's name (never address or
phone) and state, and the calls the clerk finished that day. The hub in-process on the test
database (SQLite and PostgreSQL), its clock at MONDAY_EARLY (Monday 2 March 2026, 07:00 in
Berlin); calls go through the real lifecycle (hub.operations.calls)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from hub import create_app
from hub.calls.lifecycle import Event, Outcome
from hub.calls.window import JoinWindow
from hub.operations import accounts, booking, calls
from hub.operations.accounts import add_user
from hub.operations.audit import entries
from hub.operations.counters import list_counters
from tests.integration.test_admin_sign_in import PASSWORD, Clock, first_sign_in
from tests.support.environment import MONDAY_EARLY, berlin
from tests.support.forms import page_token
from tests.support.hub import make_settings
from tests.support.realtime_clients import PASSWORD as CLERK_PASSWORD
from tests.support.realtime_clients import Booking, Desk, make_desk

WINDOW = JoinWindow(timedelta(minutes=15), timedelta(minutes=15))
STALE = timedelta(seconds=30)
SESSION = timedelta(hours=12)
# The sign-in and its steps: open to anyone; the clerk's own page: the clerk's.
OPEN = {"admin.sign_in", "admin.second_factor", "admin.set_up_second_factor", "admin.sign_out"}


@pytest.fixture
def desk(store, tmp_path):
    """The hub with an appliance per counter and a clerk `schalter`; (client, app, clock, desk)."""
    clock = Clock()
    settings = make_settings(tmp_path, database_url=store.url, secret_key="my-day-test")
    app = create_app(settings, clock=clock, store=store, TESTING=True)
    desk = make_desk(store, MONDAY_EARLY)
    add_user(store, "schalter", PASSWORD, "clerk", MONDAY_EARLY, "Max Müller")
    return app.test_client(), app, clock, desk


def pair(desk: Desk, hour: int, n: int, day: int = 2) -> dict[int, tuple[Booking, str]]:
    """Two bookings at `hour` on March `day`, one at each counter: counter -> (booking, name)."""
    booked = [
        (desk.book(berlin(2026, 3, day, hour, 0), n=n + i), f"Person {n + i}") for i in (0, 1)
    ]
    assert len({b.counter for b, _ in booked}) == 2
    return {b.counter: (b, name) for b, name in booked}


def sign_in_at(desk: Desk, counter: int, username: str, password: str, at) -> None:
    """The clerk signs in at the counter's appliance (as the kiosk does)."""
    device = desk.device_ids[counter]
    assert accounts.sign_in(desk.store, device, username, password, at, SESSION) is not None


def talk(
    desk: Desk, b: Booking, counter: int, clerk_id: int, start, minutes: int, outcome: Outcome
) -> None:
    """The citizen joins, the clerk at `counter`'s appliance lets them in, they talk `minutes`."""
    device = desk.device_ids[counter]
    calls.citizen_join(desk.store, b.join_token, "page", start - timedelta(minutes=2), WINDOW)
    calls.admit(desk.store, b.id, device, counter, clerk_id, start, STALE)
    calls.advance(desk.store, b.id, Event.CONNECTED, start + timedelta(seconds=5))
    calls.advance(desk.store, b.id, Event.END, start + timedelta(minutes=minutes), outcome)


def rows(page: str) -> list[str]:
    """The table's rows, each as its cells' text joined by spaces."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return [
        " ".join(
            " ".join(re.sub(r"<[^>]+>", "", c).split()) for c in re.findall(r"<td>(.*?)</td>", r)
        )
        for r in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_a_clerk_lands_on_their_day_and_every_other_admin_page_is_refused(desk, store):
    client, app, clock, _ = desk
    assert first_sign_in(client, clock, "schalter")  # password, then the app set up
    landed = client.get("/admin/")
    assert landed.status_code == 302 and landed.headers["Location"] == "/admin/my-day"
    page = client.get("/admin/my-day?lang=de").data.decode()
    assert "<h1>Mein Tag</h1>" in page and "Angemeldet als Max Müller" in page
    nav = page.split('<nav class="admin-nav"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r"<li><a [^>]*>([^<]+)</a>", nav) == ["Mein Tag"]  # nothing else offered

    # Every page of the admin area, present and to come (they are guarded by area): 403.
    token = page_token(page)
    checked = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin.") or rule.endpoint in OPEN | {"admin.my_day"}:
            continue
        path = re.sub(r"<[^>]+>", "00000000-0000-4000-8000-000000000001", rule.rule)
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            if rule.endpoint == "admin.home":
                continue  # the start page sends a clerk to their day (above)
            answer = client.open(path, method=method, data={"csrf_token": token})
            assert answer.status_code == 403, (method, path, answer.status_code)
            checked.append(path)
    for path in ("/admin/people", "/admin/audit", "/admin/services", "/admin/holidays"):
        assert path in checked
    assert client.get("/it/devices").status_code == 403  # the fleet pages: not by this session
    assert client.get("/office/payments").status_code == 403  # nor the cash office
    assert client.get("/admin/my-day").status_code == 200  # still signed in
    assert [e.action for e in entries(store)[0]] == ["staff.totp_set"]  # nothing else happened


def test_the_day_shows_the_clerks_counters_names_states_and_finished_calls(desk, store):
    client, _, clock, d = desk
    names = {c.id: c.name for c in list_counters(store)}
    here, there = sorted(names)[:2]
    service = store.catalogue().services["meldebescheinigung"]
    nine, ten, eleven = pair(d, 9, 0), pair(d, 10, 2), pair(d, 11, 4)
    tuesday = pair(d, 9, 6, day=3)
    schalter = accounts.verify_staff(store, "schalter", PASSWORD)
    other_clerk = accounts.verify_staff(store, "clerk2", CLERK_PASSWORD)
    assert schalter is not None and other_clerk is not None
    sign_in_at(d, here, "schalter", PASSWORD, MONDAY_EARLY - timedelta(days=2))  # on Saturday
    sign_in_at(d, there, "schalter", PASSWORD, MONDAY_EARLY - timedelta(days=31))  # long ago

    # Here: 09:00 done after 12 minutes, 10:00 did not come, 11:00 cancelled. The clerk also
    # took the other counter's 10:00 call (it had no appliance online): 8 minutes.
    talk(d, nine[here][0], here, schalter.id, berlin(2026, 3, 2, 9, 0), 12, Outcome.DONE)
    calls.advance(
        store, ten[here][0].id, Event.END, berlin(2026, 3, 2, 10, 20), Outcome.NO_SHOW,
        (d.device_ids[here], here),
    )  # fmt: skip
    booking.cancel(store, MONDAY_EARLY, eleven[here][0].id, eleven[here][0].manage_token)
    talk(d, ten[there][0], here, schalter.id, berlin(2026, 3, 2, 10, 1), 8, Outcome.FOLLOW_UP)
    # Another clerk's call at the other counter is not this clerk's.
    talk(d, nine[there][0], there, other_clerk.id, berlin(2026, 3, 2, 9, 0), 20, Outcome.DONE)

    clock.at = berlin(2026, 3, 2, 12, 0)
    first_sign_in(client, clock, "schalter")
    page = client.get("/admin/my-day?lang=de").data.decode()
    assert "Termine am Montag, 2. März 2026" in page
    assert f"in den letzten 30 Tagen angemeldet haben ({names[here]})" in page
    line = f"{service.name_de} {{counter}} {{name}} {{state}}"
    assert rows(page) == [
        "09:00–09:10 " + line.format(counter=names[here], name=nine[here][1], state="erledigt"),
        "10:00–10:10 "
        + line.format(counter=names[here], name=ten[here][1], state="nicht erschienen"),
        "10:00–10:10 "
        + line.format(counter=names[there], name=ten[there][1], state="Nacharbeit nötig"),
        "11:00–11:10 " + line.format(counter=names[here], name=eleven[here][1], state="storniert"),
    ]
    assert "@example.org" not in page  # the name only: no address (nor phone)
    assert "Beendete Gespräche</dt><dd>2</dd>" in page  # the other clerk's call is not counted
    assert "Gesprächszeit insgesamt</dt><dd>20 Min.</dd>" in page

    english = client.get("/admin/my-day?lang=en").data.decode()
    assert "<h1>My day</h1>" in english and "Appointments on Monday, March 2, 2026" in english
    assert "did not come" in english and "<dd>20 min</dd>" in english

    later = client.get("/admin/my-day?day=2026-03-03&lang=de").data.decode()
    assert [r.split(" ", 1)[1] for r in rows(later)] == [
        line.format(counter=names[here], name=tuesday[here][1], state="gebucht")
    ]
    assert "Ihre Gespräche" not in later  # no calls ahead
    assert 'value="2026-03-03"' in later and 'min="2026-03-02" max="2026-03-15"' in later


def test_a_clerk_who_signed_in_nowhere_sees_every_active_counter(desk, store):
    client, _, clock, d = desk
    names = {c.id: c.name for c in list_counters(store)}
    nine = pair(d, 9, 0)
    sign_in_at(d, min(names), "clerk2", CLERK_PASSWORD, MONDAY_EARLY)  # someone else: no matter
    first_sign_in(client, clock, "schalter")
    page = client.get("/admin/my-day?lang=de").data.decode()
    assert "in den letzten 30 Tagen an keinem Schaltergerät angemeldet" in page
    assert ", ".join(names[c] for c in sorted(names)) in page
    listed = rows(page)
    assert len(listed) == 2
    for counter, (_, name) in nine.items():
        assert any(f"{names[counter]} {name} gebucht" in r for r in listed), listed
    english = client.get("/admin/my-day?lang=en").data.decode()
    assert "have not signed in at a counter appliance in the last 30 days" in english


@pytest.mark.parametrize(
    "day", ["2026-03-01", "2026-03-16", "morgen", "2026-02-30", "2026-03-02T00:00"]
)
def test_a_day_outside_the_next_two_weeks_is_refused_plainly(desk, day):
    client, _, clock, _ = desk
    first_sign_in(client, clock, "schalter")
    answer = client.get(f"/admin/my-day?day={day}&lang=de")
    assert answer.status_code == 422
    page = answer.data.decode()
    assert "Wählen Sie einen Tag vom 2026-03-02 bis zum 2026-03-15." in page
    assert "<tbody>" not in page and 'aria-invalid="true"' in page


def test_the_day_is_berlins_whatever_the_machines_time_zone(desk, far_time_zone):
    client, _, clock, d = desk
    late = d.book(berlin(2026, 3, 2, 11, 0), n=9)
    sign_in_at(d, late.counter, "schalter", PASSWORD, MONDAY_EARLY)
    clock.at = berlin(2026, 3, 2, 11, 30)  # Tuesday 00:30 already at UTC+14
    first_sign_in(client, clock, "schalter")
    page = client.get("/admin/my-day?lang=de").data.decode()
    assert "Termine am Montag, 2. März 2026" in page
    assert [r[:11] for r in rows(page)] == ["11:00–11:10"]

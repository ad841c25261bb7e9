"""The office's pages of the admin area (/admin/counters, /admin/closures) through their forms:
bad input is refused with a clear line and changes nothing, every change is audited as
web:<username> with before and after, a closure cancels exactly the appointments it showed and
mails each citizen once with a link to book again. The hub in-process on the test database, its
clock at MONDAY_EARLY (a Monday, 07:00 in Berlin)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from hub import create_app
from hub.booking.status import Status
from hub.notify.outbox import deliver_due
from hub.operations.accounts import add_user
from hub.operations.audit import entries
from hub.operations.booking import list_slots
from hub.operations.catalogue import list_closures
from hub.operations.counters import list_counters
from hub.store.models import AppointmentRow, MailRow
from tests.integration.test_admin_sign_in import PASSWORD, Clock, first_sign_in
from tests.support.environment import BERLIN, MONDAY_EARLY
from tests.support.forms import page_token
from tests.support.hub import make_settings

NAMES = ("", "Anna Albers", "Bernd Berg", "Clara Christ", "Dora Dorn", "Emil Engel", "Frieda Fink")
NAMES += ("Gustav Graf",)
TUESDAY = date(2026, 3, 3)
WEDNESDAY = date(2026, 3, 4)


@pytest.fixture
def office(store, tmp_path, mailbox):
    """The hub mailing to `mailbox`, a supervisor signed in; (client, app)."""
    clock = Clock()
    settings = make_settings(
        tmp_path,
        database_url=store.url,
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        smtp_security="none",
        secret_key="office-test",
    )
    app = create_app(settings, clock=clock, store=store, TESTING=True)
    add_user(store, "leitung", PASSWORD, "supervisor", MONDAY_EARLY, "Frau Leitung")
    client = app.test_client()
    first_sign_in(client, clock, "leitung")
    return client, app


def form_post(client, page_path: str, action: str, **form):
    """Post a form of the page at `page_path` as the browser does (with that page's token)."""
    page = client.get(page_path).data.decode()
    return client.post(action, data={"csrf_token": page_token(page), **form})


def audit(store, prefix: str = ""):
    return entries(store, action=prefix or None)[0]


def book(client, start: str, n: int, service: str = "fuehrungszeugnis", lang: str = "de"):
    answer = client.post(
        f"/api/v1/appointments?lang={lang}",
        json={
            "service_id": service,
            "start": start,
            "name": NAMES[n],
            "email": f"b{n}@example.org",
        },
    )
    assert answer.status_code == 201, answer.json
    return answer.json["id"]


def slot_times(app, service: str, day: date) -> list[str]:
    store = app.extensions["store"]
    store.forget_catalogue()
    policy = app.extensions["settings"].booking_policy
    found = list_slots(store, policy, app.extensions["clock"](), service, day, day)
    return [s.start.astimezone(BERLIN).strftime("%H:%M") for s in found]


def counter(store, counter_id: int):
    return next(c for c in list_counters(store) if c.id == counter_id)


def test_only_the_office_roles_open_these_pages(office, store):
    client, app = office
    home = client.get("/admin/?lang=de").data.decode()
    assert ">Schalter</a>" in home and ">Schließungen</a>" in home
    add_user(store, "technik", PASSWORD, "it", MONDAY_EARLY)
    add_user(store, "schalter", PASSWORD, "clerk", MONDAY_EARLY)
    it = app.test_client()
    first_sign_in(it, app.extensions["clock"], "technik")
    for path in (
        "/admin/counters",
        "/admin/counters/1",
        "/admin/closures",
        "/admin/closures/check",
    ):
        assert it.get(path).status_code == 403, path
    assert ">Schließungen</a>" not in it.get("/admin/?lang=de").data.decode()
    clerk = app.test_client()
    first_sign_in(clerk, app.extensions["clock"], "schalter")  # to their own day only
    assert clerk.get("/admin/counters").status_code == 403
    assert clerk.get("/admin/closures").status_code == 403


def test_weekly_hours_bad_input_changes_nothing_and_good_input_is_audited(office, store):
    client, app = office
    page = client.get("/admin/counters/1?lang=de").data.decode()
    assert 'value="08:00–12:00, 14:00–17:30"' in page  # Wednesday, from the Standard schedule
    assert "Zeiten des Plans Standard" in page
    week = {f"day{d}": "08:00–12:00" for d in range(5)} | {"day5": "", "day6": ""}

    bad = form_post(
        client, "/admin/counters/1", "/admin/counters/1/hours", **week | {"day2": "14-17:30"}
    )
    text = bad.data.decode()
    assert bad.status_code == 422
    assert "Mittwoch: Schreiben Sie Zeiten wie 08:00–12:00" in text
    assert 'id="day2" name="day2" value="14-17:30"' in text  # kept for correcting
    assert 'aria-invalid="true"' in text and 'aria-describedby="day2-error hours-hint"' in text
    both = "08:00-12:00, 11:00-13:00"
    overlap = form_post(
        client, "/admin/counters/1", "/admin/counters/1/hours", **week | {"day0": both}
    )
    assert (
        overlap.status_code == 422
        and "Montag: Die Zeiten überschneiden sich." in overlap.data.decode()
    )
    empty = form_post(
        client, "/admin/counters/1", "/admin/counters/1/hours", **{f"day{d}": "" for d in range(7)}
    )
    assert empty.status_code == 422 and "mindestens eine Öffnungszeit" in empty.data.decode()
    english = client.post(
        "/admin/counters/1/hours?lang=en",
        data={"csrf_token": page_token(page), **week, "day4": "8 bis 12"},
    )
    assert "Friday: write times like 08:00–12:00" in english.data.decode()
    assert not counter(store, 1).own_hours and audit(store, "counter.") == []

    # Wednesday afternoon only at counter 1 (Standard has it; both get mornings only first).
    assert (
        form_post(client, "/admin/counters/2", "/admin/counters/2/hours", **week).status_code == 302
    )
    done = form_post(client, "/admin/counters/1", "/admin/counters/1/hours", **week)
    assert done.status_code == 302
    assert slot_times(app, "fuehrungszeugnis", WEDNESDAY)[-1] == "11:45"
    typed = "8:00 - 12:00; 14:00–17:30"  # short hours, spaces and semicolons are understood
    afternoon = form_post(
        client, "/admin/counters/1", "/admin/counters/1/hours", **week | {"day2": typed}
    )
    assert afternoon.status_code == 302
    assert "14:00" in slot_times(app, "fuehrungszeugnis", WEDNESDAY)
    shown = client.get(afternoon.headers["Location"]).data.decode()
    assert "New weekly hours for Schalter 1 saved." in shown  # English since ?lang=en above
    latest = audit(store, "counter.hours")[0]
    assert (latest.actor, latest.target) == ("web:leitung", "counter:Schalter 1")
    assert latest.before == {"hours": "Mo–Fr 08:00–12:00", "own": True}
    assert latest.after == {"hours": "Mo–Fr 08:00–12:00; Mi 14:00–17:30", "own": True}

    back = form_post(client, "/admin/counters/1", "/admin/counters/1/hours", reset="1")
    assert back.status_code == 302 and not counter(store, 1).own_hours
    assert audit(store, "counter.hours")[0].after["own"] is False


def test_hours_that_leave_a_booking_outside_list_it_and_keep_it(office, store):
    client, _ = office
    booked = book(client, "2026-03-04T15:00:00+01:00", 1)
    week = {f"day{d}": "08:00-12:00" for d in range(5)}
    with store.transaction() as session:
        at = session.get(AppointmentRow, uuid.UUID(booked)).counter_id
    answer = form_post(client, f"/admin/counters/{at}", f"/admin/counters/{at}/hours", **week)
    text = answer.data.decode()
    assert answer.status_code == 200
    assert "1 Termin liegt außerhalb der neuen Zeiten" in text
    assert "15:00–15:10" in text and NAMES[1] not in text  # no name on the page
    with store.transaction() as session:
        assert session.get(AppointmentRow, uuid.UUID(booked)).status == Status.BOOKED


def test_exceptions_are_checked_then_added_and_removed(office, store):
    client, app = office
    path, action = "/admin/counters/1", "/admin/counters/1/exceptions"
    for form, line in [
        ({"day": "2026-02-27", "kind": "closed"}, "Wählen Sie heute oder einen späteren Tag."),
        ({"day": "27.02.2026", "kind": "closed"}, "Geben Sie ein Datum ein"),
        (
            {"day": "2026-03-07", "kind": "hours", "hours": ""},
            "Geben Sie die Zeiten dieses Tages ein",
        ),
        ({"day": "2026-03-07", "kind": "hours", "hours": "14-12"}, "Zeiten: Schreiben Sie Zeiten"),
        ({"day": "2026-03-07", "kind": "closed", "reason": "x" * 201}, "höchstens 200 Zeichen"),
    ]:
        refused = form_post(client, path, action, **form)
        assert refused.status_code == 422 and line in refused.data.decode(), form
    assert (
        counter(store, 1).schedule.exceptions == () and audit(store)[0].action == "staff.totp_set"
    )

    saturday = form_post(
        client,
        path,
        action,
        day="2026-03-07",
        kind="hours",
        hours="09:00-10:00",
        reason="Aktionstag",
    )
    assert saturday.status_code == 302
    assert "09:00" in slot_times(app, "fuehrungszeugnis", date(2026, 3, 7))
    page = client.get(path + "?lang=de").data.decode()
    assert "Samstag, 7. März 2026" in page and "Aktionstag" in page
    entry = audit(store, "counter.exception")[0]
    assert entry.before is None
    assert entry.after == {"day": "2026-03-07", "hours": "09:00–10:00", "reason": "Aktionstag"}

    gone = form_post(client, path, f"{action}/2026-03-07/remove")
    assert gone.status_code == 302 and counter(store, 1).schedule.exceptions == ()
    again = form_post(client, path, f"{action}/2026-03-07/remove")
    assert (
        again.status_code == 404 and "Am 2026-03-07 gibt es keine Ausnahme" in again.data.decode()
    )
    removed = audit(store, "counter.exception_remove")[0]
    assert removed.before["hours"] == "09:00–10:00" and removed.after is None


def test_taking_a_counter_out_of_service_lists_its_appointments_and_moves_them(office, store):
    client, _ = office
    first = book(client, "2026-03-05T08:00:00+01:00", 1)
    with store.transaction() as session:
        busy = session.get(AppointmentRow, uuid.UUID(first)).counter_id
    other = 3 - busy
    ask = client.get(f"/admin/counters/{busy}/deactivate?lang=de").data.decode()
    assert "Er hat 1 Termin vor sich:" in ask
    assert "Donnerstag, 5. März 2026" in ask and "Führungszeugnis" in ask and NAMES[1] not in ask

    refused = form_post(
        client, f"/admin/counters/{busy}/deactivate", f"/admin/counters/{busy}/deactivate"
    )
    assert refused.status_code == 409 and counter(store, busy).active
    moved = form_post(
        client, f"/admin/counters/{busy}/deactivate", f"/admin/counters/{busy}/deactivate", move="1"
    )
    assert moved.status_code == 302
    assert not counter(store, busy).active
    with store.transaction() as session:
        assert session.get(AppointmentRow, uuid.UUID(first)).counter_id == other
    entry = audit(store, "counter.deactivate")[0]
    assert entry.before == {"active": True, "without_appliance": True}
    assert entry.after["active"] is False and entry.after["moved"] == [
        {"appointment": first, "to": other}
    ]

    later = book(client, "2026-03-06T08:00:00+01:00", 2)  # a new booking lands on the other one
    with store.transaction() as session:
        assert session.get(AppointmentRow, uuid.UUID(later)).counter_id == other
    answer = client.post(
        "/api/v1/appointments",
        json={
            "service_id": "fuehrungszeugnis",
            "start": "2026-03-06T08:00:00+01:00",
            "name": "X",
            "email": "x@example.org",
        },
    )
    assert answer.status_code == 409  # the out-of-service counter takes none

    back = form_post(
        client, f"/admin/counters/{busy}", f"/admin/counters/{busy}/activate", without_appliance="1"
    )
    assert back.status_code == 302 and counter(store, busy).takes_bookings
    assert audit(store, "counter.activate")[0].after == {"active": True, "without_appliance": True}


def test_a_new_counter_needs_a_free_name(office, store):
    client, _ = office
    assert form_post(client, "/admin/counters", "/admin/counters", name="  ").status_code == 422
    made = form_post(client, "/admin/counters", "/admin/counters", name="Schalter  3")
    assert made.status_code == 302 and counter(store, 3).name == "Schalter 3"
    taken = form_post(client, "/admin/counters", "/admin/counters", name="Schalter 3")
    assert (
        taken.status_code == 422
        and "Einen Schalter namens Schalter 3 gibt es schon." in taken.data.decode()
    )
    assert len(list_counters(store)) == 3
    entry = audit(store, "counter.add")[0]
    assert (entry.actor, entry.after) == (
        "web:leitung",
        {"name": "Schalter 3", "schedule": "Standard", "active": True},
    )


def test_a_closure_shows_its_appointments_first_then_cancels_them_and_mails_each_citizen_once(
    office, store, mailbox
):
    client, app = office
    ids = [
        book(client, "2026-03-03T08:00:00+01:00", 1),
        book(client, "2026-03-03T08:00:00+01:00", 2, "meldebescheinigung"),
        book(client, "2026-03-03T09:00:00+01:00", 3),
        book(client, "2026-03-03T09:00:00+01:00", 4, lang="en"),
        book(client, "2026-03-03T10:00:00+01:00", 5),
    ]
    keeps = book(client, "2026-03-04T08:00:00+01:00", 6)
    ext = app.extensions
    deliver_due(ext["store"], ext["mails"], ext["mail_transport"], ext["clock"]())
    confirmations = len(mailbox.wait_for(6))
    assert slot_times(app, "fuehrungszeugnis", TUESDAY)

    for query, line in [
        ("first_day=2026-03-01", "Wählen Sie heute oder einen späteren Tag."),
        (
            "first_day=2026-03-04&last_day=2026-03-03",
            "Der letzte Tag kann nicht vor dem ersten liegen.",
        ),
        ("first_day=2026-03-03&last_day=2027-03-10", "Eine Schließung dauert höchstens ein Jahr."),
        ("first_day=morgen", "Geben Sie ein Datum ein"),
        ("first_day=2026-03-03&schedule=Nacht", "Wählen Sie einen der Pläne."),
    ]:
        refused = client.get(f"/admin/closures/check?lang=de&{query}")
        assert refused.status_code == 422 and line in refused.data.decode(), query
    english = client.get("/admin/closures/check?lang=en&first_day=2026-03-01").data.decode()
    assert "Choose today or a later day." in english

    check = client.get("/admin/closures/check?lang=de&first_day=2026-03-03&reason=Betriebsausflug")
    text = check.data.decode()
    assert check.status_code == 200
    assert "5 Termine sind an diesen Tagen gebucht." in text
    rows = re.findall(r"<tr><td>Dienstag, 3. März 2026</td><td>(\d\d:\d\d)–", text)
    assert rows == ["08:00", "08:00", "09:00", "09:00", "10:00"]
    assert "Schalter 1" in text and "Melde- und Aufenthaltsbescheinigung" in text
    assert not any(n in text for n in NAMES[1:]) and "example.org" not in text  # no personal data
    assert list_closures(store) == [] and audit(store, "closure") == []  # checking changed nothing

    # Meanwhile another citizen books that day: confirming what was shown changes nothing.
    late = book(client, "2026-03-03T11:00:00+01:00", 7)
    shown = re.findall(r'name="appointment" value="([^"]+)"', text)
    form = {
        "first_day": "2026-03-03",
        "last_day": "2026-03-03",
        "reason": "Betriebsausflug",
        "schedule": "Standard",
    }
    stale = client.post(
        "/admin/closures", data={"csrf_token": page_token(text), **form, "appointment": shown}
    )
    assert stale.status_code == 409
    assert "6 Termine sind an diesen Tagen gebucht." in stale.data.decode()
    assert list_closures(store) == [] and audit(store, "closure") == []
    with store.transaction() as session:
        assert session.get(AppointmentRow, uuid.UUID(late)).status == Status.BOOKED
    ids.append(late)

    again = stale.data.decode()
    shown = re.findall(r'name="appointment" value="([^"]+)"', again)
    assert sorted(shown) == sorted(ids)
    done = client.post(
        "/admin/closures", data={"csrf_token": page_token(again), **form, "appointment": shown}
    )
    assert done.status_code == 302
    listing = client.get("/admin/closures?lang=de").data.decode()
    assert "Geschlossen am 2026-03-03. 6 Termine wurden abgesagt" in listing
    assert "Betriebsausflug" in listing

    with store.transaction() as session:
        rows_now = {str(r.id): r for r in session.scalars(select(AppointmentRow))}
        assert {rows_now[i].status for i in ids} == {Status.CANCELLED}
        assert rows_now[ids[0]].cancel_reason == "Schließung: Betriebsausflug"
        assert rows_now[keeps].status == Status.BOOKED
        waiting = {
            (str(m.appointment_id), m.kind)
            for m in session.scalars(select(MailRow).where(MailRow.status == "pending"))
        }
    assert {w for w in waiting if w[0] in ids} == {(i, "office_closed") for i in ids}
    assert (keeps, "reminder") in waiting  # the reminders of the cancelled ones withdrawn
    assert slot_times(app, "fuehrungszeugnis", TUESDAY) == []

    deliver_due(ext["store"], ext["mails"], ext["mail_transport"], ext["clock"]())
    closed = mailbox.wait_for(confirmations + 6)[confirmations:]
    assert sorted(m["To"] for m in closed) == sorted(
        f"b{n}@example.org" for n in range(1, 8) if n != 6
    )
    german = next(m for m in closed if m["To"] == "b2@example.org")
    assert german["Subject"] == "Abgesagt: Das Bürgeramt ist am Dienstag, 3. März 2026 geschlossen"
    body = german.get_body(("plain",)).get_content()
    assert "http://hub.test/book/meldebescheinigung?lang=de" in body
    assert "Betriebsausflug" not in body  # the reason is for staff
    english_mail = next(m for m in closed if m["To"] == "b4@example.org")
    assert (
        english_mail["Subject"]
        == "Cancelled: the citizens' office is closed on Tuesday, March 3, 2026"
    )
    assert (
        "http://hub.test/book/fuehrungszeugnis?lang=en"
        in english_mail.get_body(("plain",)).get_content()
    )
    calendar = next(p for p in german.iter_attachments() if p.get_content_type() == "text/calendar")
    assert "METHOD:CANCEL" in calendar.get_content()

    entry = audit(store, "closure.add")[0]
    assert (entry.actor, entry.target) == ("web:leitung", "schedule:Standard")
    assert entry.after["first_day"] == entry.after["last_day"] == "2026-03-03"
    assert sorted(entry.after["cancelled"]) == sorted(ids)

    closure_id = list_closures(store)[0].id
    removed = form_post(client, "/admin/closures", f"/admin/closures/{closure_id}/remove")
    assert removed.status_code == 302 and list_closures(store) == []
    assert slot_times(app, "fuehrungszeugnis", TUESDAY)  # the day is open again
    assert audit(store, "closure.remove")[0].before["reason"] == "Betriebsausflug"
    gone = form_post(client, "/admin/closures", f"/admin/closures/{closure_id}/remove")
    assert gone.status_code == 404


def test_a_closure_without_appointments_still_asks_first(office, store):
    client, _ = office
    check = client.get("/admin/closures/check?first_day=2026-03-09&last_day=2026-03-13&lang=en")
    text = check.data.decode()
    assert "No appointments are booked on these days" in text
    form = {
        "first_day": "2026-03-09",
        "last_day": "2026-03-13",
        "reason": "",
        "schedule": "Standard",
    }
    done = client.post("/admin/closures", data={"csrf_token": page_token(text), **form})
    assert done.status_code == 302
    [closure] = list_closures(store)
    assert (closure.first_day, closure.last_day) == (date(2026, 3, 9), date(2026, 3, 13))
    assert audit(store, "closure.add")[0].after["cancelled"] == []
    no_token = client.post("/admin/closures", data=form)
    assert no_token.status_code == 400 and len(list_closures(store)) == 1


def test_the_command_line_is_audited_as_cli(store, tmp_path):
    from tests.integration.test_cli import run

    url = store.url
    env = {"BUERGERAMT_DATABASE_URL": url}
    day = (MONDAY_EARLY + timedelta(days=400)).date().isoformat()
    added = run(tmp_path, "closures", "add", "--from", day, "--reason", "Umzug", env=env)
    assert added.returncode == 0, added.stderr
    listing = run(tmp_path, "closures", "list", "--all", env=env).stdout
    assert f"{day} to {day}  Standard  Umzug" in listing
    closure_id = listing.split()[0]
    assert run(tmp_path, "counters", "hours", "1", "mon-fri 08:00-12:00", env=env).returncode == 0
    assert run(tmp_path, "closures", "remove", closure_id, env=env).returncode == 0
    actions = [(e.action, e.actor.split(":")[0]) for e in entries(store)[0]]
    assert actions == [("closure.remove", "cli"), ("counter.hours", "cli"), ("closure.add", "cli")]


def test_the_command_line_lists_a_closures_appointments_or_cancels_them(store, tmp_path):
    """`closures add` keeps the appointments on the closed days and lists them; with
    --cancel-appointments it cancels them and queues the citizens' mails, as the page does. The
    command runs on the real clock, so the appointment lies three weeks from today."""
    from tests.integration.test_cli import run

    start = datetime.combine(
        datetime.now(UTC).date() + timedelta(days=21), time(9), tzinfo=BERLIN
    ).astimezone(UTC)
    appointment = uuid.uuid4()
    with store.transaction() as session:
        session.add(
            AppointmentRow(
                id=appointment, service_id="fuehrungszeugnis", counter_id=1, start_at=start,
                end_at=start + timedelta(minutes=10), status=Status.BOOKED, name="Anna Albers",
                email="anna@example.org", locale="de", manage_token_hash="m" * 64,
                join_token_hash="j" * 64, created_at=start, updated_at=start,
            )
        )  # fmt: skip
    env = {"BUERGERAMT_DATABASE_URL": store.url}
    day = start.astimezone(BERLIN).date().isoformat()
    kept = run(tmp_path, "closures", "add", "--from", day, env=env)
    assert kept.returncode == 0, kept.stderr
    assert "1 appointment(s) on those days (they stay booked)" in kept.stderr
    assert str(appointment) in kept.stderr and "Anna" not in kept.stderr
    closure_id = run(tmp_path, "closures", "list", env=env).stdout.split()[0]
    assert run(tmp_path, "closures", "remove", closure_id, env=env).returncode == 0

    cancelled = run(tmp_path, "closures", "add", "--from", day, "--cancel-appointments", env=env)
    assert cancelled.returncode == 0, cancelled.stderr
    assert "(cancelled, citizens mailed)" in cancelled.stderr
    with store.transaction() as session:
        assert session.get(AppointmentRow, appointment).status == Status.CANCELLED
        kinds = [m.kind for m in session.scalars(select(MailRow))]
    assert kinds == ["office_closed"]
    latest = entries(store, action="closure.add")[0][0]
    assert latest.after["cancelled"] == [str(appointment)]
    assert entries(store, action="closure.add")[0][1].after["appointments_kept"] == [
        str(appointment)
    ]

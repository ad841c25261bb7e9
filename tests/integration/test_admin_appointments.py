"""The office's appointments pages (/admin/appointments): finding appointments (by name only with
a short range or a service), booking for a citizen who phones, moving and cancelling with a
reason, each through the same operations as the citizens' pages, audited as web:<username>
without the citizen's name, mailed to the citizen, and nothing changed by bad input; opening
an appointment and searching for a person are audited too (`read.`, without the details). The hub
in-process on the test database, its clock at MONDAY_EARLY (a Monday, 07:00 in Berlin) moved
by the test; one test runs with the machine's time zone far from Berlin."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from hub import create_app
from hub.booking.status import Status
from hub.links import links_for
from hub.notify.outbox import deliver_due
from hub.operations.accounts import add_user
from hub.operations.audit import entries
from hub.operations.booking import BookingRequest, book, list_slots
from hub.store.models import AppointmentRow, AuditRow, CallRow, MailRow, OccupancyRow
from tests.integration.test_admin_sign_in import PASSWORD, Clock, first_sign_in
from tests.support.environment import BERLIN, MONDAY_EARLY
from tests.support.forms import page_token
from tests.support.hub import make_settings

MONDAY = date(2026, 3, 2)
TUESDAY = date(2026, 3, 3)
SERVICE = "fuehrungszeugnis"
OTHER = "anmeldung"


class Outbox:
    """A transport that keeps the messages."""

    def __init__(self) -> None:
        self.messages: list = []

    def send(self, message) -> None:
        self.messages.append(message)


@pytest.fixture
def office(store, tmp_path):
    """The hub, a supervisor signed in; (client, app, clock)."""
    clock = Clock()
    settings = make_settings(tmp_path, database_url=store.url, secret_key="appointments-test")
    app = create_app(settings, clock=clock, store=store, TESTING=True)
    add_user(store, "leitung", PASSWORD, "supervisor", MONDAY_EARLY, "Frau Leitung")
    client = app.test_client()
    first_sign_in(client, clock, "leitung")
    return client, app, clock


def deliver(app) -> list:
    """Send what is due now; the messages."""
    ext = app.extensions
    outbox = Outbox()
    deliver_due(ext["store"], ext["mails"], outbox, ext["clock"]())
    return outbox.messages


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def free_times(app, service: str, day: date) -> list:
    ext = app.extensions
    ext["store"].forget_catalogue()
    return [
        s.start
        for s in list_slots(
            ext["store"], ext["settings"].booking_policy, ext["clock"](), service, day, day
        )
    ]


def citizen_books(app, start, name="Erika Mustermann", email="erika@example.org", **kw):
    """A booking as the public pages make it (with its mails); (appointment id, manage token)."""
    ext = app.extensions
    booked = book(
        ext["store"],
        ext["settings"].booking_policy,
        ext["clock"](),
        BookingRequest(kw.pop("service", SERVICE), start, name, email, kw.pop("locale", "de")),
        ext["mails"],
        ext["settings"].max_open_per_email or None,
    )
    return booked.appointment.id, booked.manage_token


def post_form(client, page_path: str, action: str | None = None, **form):
    """Post the form of the page at `page_path` with that page's CSRF token."""
    page = client.get(page_path).data.decode()
    return client.post(action or page_path, data={"csrf_token": page_token(page), **form})


def row(store, appointment_id) -> AppointmentRow:
    with store.transaction() as session:
        found = session.get(AppointmentRow, appointment_id)
        session.expunge(found)
        return found


def count(store, table) -> int:
    with store.transaction() as session:
        return session.scalar(select(func.count()).select_from(table))


def audit(store, prefix: str = "appointment."):
    return entries(store, action=prefix)[0]


def page(response) -> str:
    return response.data.decode()


# --- finding ------------------------------------------------------------------------------


def test_a_search_lists_times_services_states_and_references_but_names_only_when_asked(office):
    client, app, _clock = office
    store = app.extensions["store"]
    monday = free_times(app, SERVICE, MONDAY)
    erika, _ = citizen_books(app, monday[0])
    max_, _ = citizen_books(app, monday[2], "Max Öztürk", "max@example.org", service=OTHER)
    later, _ = citizen_books(app, free_times(app, SERVICE, TUESDAY)[0], "Erika Mustermann")
    cancelled, token = citizen_books(app, monday[4], "Jo Weg", "jo@example.org")
    from hub.operations.booking import cancel

    cancel(store, MONDAY_EARLY, cancelled, token)

    day = page(client.get("/admin/appointments?lang=de"))  # today by default
    assert "3 Termine gefunden." in day
    for appointment_id in (erika, max_, cancelled):
        assert appointment_id.hex[:8].upper() in day
    assert later.hex[:8].upper() not in day  # Tuesday
    assert "Erika" not in day and "Öztürk" not in day  # no names without a name search
    assert "Führungszeugnis" in day and "Schalter" in day and "storniert" in day

    only = page(client.get("/admin/appointments?from=2026-03-02&to=2026-03-03&state=cancelled"))
    assert "1 Termin gefunden." in only and cancelled.hex[:8].upper() in only
    with store.transaction() as session:  # the clerk recorded Erika's call as done
        session.add(
            CallRow(
                appointment_id=erika,
                state="ended",
                outcome="done",
                counter_id=row(store, erika).counter_id,
                updated_at=MONDAY_EARLY,
            )
        )
    done = page(client.get("/admin/appointments?lang=de&from=2026-03-02&to=2026-03-03&state=done"))
    assert "1 Termin gefunden." in done and erika.hex[:8].upper() in done and "erledigt" in done
    booked = page(client.get("/admin/appointments?from=2026-03-02&to=2026-03-03&state=booked"))
    assert "2 Termine gefunden." in booked
    assert max_.hex[:8].upper() in booked and later.hex[:8].upper() in booked

    by_service = page(
        client.get(f"/admin/appointments?from=2026-03-02&to=2026-03-03&service={OTHER}")
    )
    assert "1 Termin gefunden." in by_service and max_.hex[:8].upper() in by_service

    named = page(client.get("/admin/appointments?from=2026-03-02&to=2026-03-31&who=mustermann"))
    assert "2 Termine gefunden." in named and "Erika Mustermann" in named
    assert '<th scope="col">Name</th>' in named
    folded = page(
        client.get("/admin/appointments?from=2026-03-02&to=2026-03-02&who=%C3%96ZT%C3%9CRK")
    )
    assert "Max Öztürk" in folded  # any case, also beyond ASCII, on SQLite too
    mail = page(client.get("/admin/appointments?from=2026-03-02&to=2026-03-31&who=MAX@example.org"))
    assert "1 Termin gefunden." in mail and "Max Öztürk" in mail


def test_a_name_search_without_a_short_range_or_a_service_is_refused(office):
    client, app, _clock = office
    citizen_books(app, free_times(app, SERVICE, MONDAY)[0])
    refused = client.get("/admin/appointments?lang=de&from=2026-03-01&to=2026-04-30&who=Erika")
    assert refused.status_code == 422
    text = page(refused)
    assert "choose a service" not in text
    assert (
        "Um nach Name oder E-Mail-Adresse zu suchen, wählen Sie ein Anliegen oder "
        "einen Zeitraum von höchstens 31 Tagen." in text
    )
    assert "Erika" in text  # only in the field the search came from
    assert "Termin gefunden" not in text and "Termine gefunden" not in text
    english = page(
        client.get("/admin/appointments?lang=en&from=2026-03-01&to=2026-04-30&who=x@y.de")
    )
    assert "choose a service or a date range of at most 31 days" in english
    # 31 days counting both ends, or a service, are enough.
    assert (
        client.get("/admin/appointments?from=2026-03-01&to=2026-03-31&who=Erika").status_code == 200
    )
    with_service = f"/admin/appointments?from=2026-03-01&to=2026-04-30&who=Erika&service={SERVICE}"
    assert "1 Termin gefunden." in page(client.get(with_service + "&lang=de"))


def test_bad_search_input_is_refused_with_a_clear_line(office):
    client, _app, _clock = office
    cases = {
        "from=2026-13-01": "Geben Sie den ersten Tag als Datum ein",
        "from=2026-03-05&to=2026-03-01": "Das Ende des Zeitraums liegt vor seinem Anfang.",
        "from=2026-01-01&to=2027-12-31": "Suchen Sie höchstens 366 Tage auf einmal.",
        "service=gibt-es-nicht": "Wählen Sie ein Anliegen aus der Liste.",
        "state=verschwunden": "Wählen Sie einen Zustand aus der Liste.",
        "ref=xyz": "Eine Kennung hat 8 Zeichen",
        "ref=3f2a9c01": "Kein Termin hat die Kennung 3F2A9C01.",
    }
    for query, message in cases.items():
        answer = client.get(f"/admin/appointments?lang=de&{query}")
        assert answer.status_code == 422, query
        assert message in page(answer), query


def test_a_reference_opens_its_appointment_with_the_citizens_details(office):
    client, app, _clock = office
    appointment_id, _ = citizen_books(app, free_times(app, SERVICE, MONDAY)[0])
    reference = appointment_id.hex[:8].upper()
    found = client.get(f"/admin/appointments?ref={reference[:4]} {reference[4:].lower()}")
    assert found.status_code == 302
    assert found.headers["Location"] == f"/admin/appointments/{appointment_id}"
    opened = page(client.get(found.headers["Location"] + "?lang=de"))
    assert "Erika Mustermann" in opened and "erika@example.org" in opened
    assert f"Termin {reference}" in opened and "gebucht" in opened
    assert client.get(f"/admin/appointments/{uuid.uuid4()}").status_code == 404
    assert client.get("/admin/appointments/kein-termin").status_code == 404


def test_only_the_office_roles_open_the_appointments(office, store):
    client, app, clock = office
    add_user(store, "technik", PASSWORD, "it", MONDAY_EARLY)
    other = app.test_client()
    first_sign_in(other, clock, "technik")
    assert other.get("/admin/appointments").status_code == 403
    assert other.get("/admin/appointments/new").status_code == 403
    nobody = app.test_client()
    assert nobody.get("/admin/appointments").headers["Location"].startswith("/admin/sign-in")
    home = page(client.get("/admin/?lang=de"))
    assert 'href="/admin/appointments"' in home and "Termine" in home


# --- booking for a citizen who phones -----------------------------------------------------


def test_booking_for_a_citizen_who_phones_mails_the_confirmation_and_takes_the_slot(office):
    client, app, _clock = office
    store = app.extensions["store"]
    path = f"/admin/appointments/new?lang=de&service={SERVICE}&day={TUESDAY}"
    form_page = page(client.get(path))
    start = free_times(app, SERVICE, TUESDAY)[1]
    assert f'value="{start.isoformat()}"' in form_page  # the public pages' free times
    booked = post_form(
        client,
        path,
        start=start.isoformat(),
        name="  Erika   Mustermann ",
        email="Erika@Example.ORG",
        phone="+49 6221 58-0",
        locale="en",
    )
    assert booked.status_code == 303, page(booked)
    appointment_id = uuid.UUID(booked.headers["Location"].rsplit("/", 1)[1])
    saved = row(store, appointment_id)
    assert (saved.name, saved.email, saved.phone, saved.locale) == (
        "Erika Mustermann",
        "erika@example.org",
        "+49 6221 58-0",
        "en",
    )
    assert saved.status == Status.BOOKED and saved.hold_until is None and saved.start_at == start
    with store.transaction() as session:
        units = session.scalars(
            select(OccupancyRow).where(OccupancyRow.appointment_id == appointment_id)
        ).all()
    assert units and {u.counter_id for u in units} == {saved.counter_id}

    done = page(client.get(booked.headers["Location"]))
    assert "Die Bestätigung mit dem Link zum Videotermin geht an erika@example.org." in done

    (message,) = deliver(app)
    assert message["To"] == "erika@example.org"
    assert message["Subject"].startswith("Your video appointment on Tuesday")
    body = text_of(message)
    assert "Hello Erika Mustermann," in body and "http://hub.test/join/" in body

    (entry,) = audit(store)
    assert (entry.actor, entry.action, entry.target) == (
        "web:leitung",
        "appointment.book",
        f"appointment:{appointment_id}",
    )
    assert entry.before is None
    assert entry.after["start"] == start.astimezone(BERLIN).isoformat()
    assert entry.after["status"] == "booked" and entry.after["service"] == SERVICE
    shown = str(entry.after)
    assert "Erika" not in shown and "example.org" not in shown and "6221" not in shown


def test_a_slot_taken_by_both_counters_is_refused_and_nothing_is_written(office):
    client, app, _clock = office
    store = app.extensions["store"]
    start = free_times(app, SERVICE, TUESDAY)[0]
    citizen_books(app, start, "Anna Eins", "anna@example.org")
    citizen_books(app, start, "Bert Zwei", "bert@example.org")  # both counters now
    assert start not in free_times(app, SERVICE, TUESDAY)
    before = (count(store, AppointmentRow.__table__), count(store, MailRow.__table__))
    path = f"/admin/appointments/new?lang=de&service={SERVICE}&day={TUESDAY}"
    taken = post_form(
        client, path, start=start.isoformat(), name="Carla Drei", email="carla@example.org"
    )
    assert taken.status_code == 409
    assert "Dieser Termin wurde gerade vergeben. Bitte wählen Sie einen anderen." in page(taken)
    assert (count(store, AppointmentRow.__table__), count(store, MailRow.__table__)) == before
    assert audit(store) == []


def test_bad_details_are_refused_at_their_fields_and_nothing_is_written(office):
    client, app, _clock = office
    store = app.extensions["store"]
    path = f"/admin/appointments/new?lang=de&service={SERVICE}&day={TUESDAY}"
    start = free_times(app, SERVICE, TUESDAY)[0].isoformat()
    cases = [
        ({"name": "Erika 2", "email": "e@example.org"}, "Bitte geben Sie Ihren Namen so ein"),
        ({"name": "", "email": "e@example.org"}, "Bitte geben Sie den Namen ein."),
        ({"name": "Erika M", "email": "kein-at"}, "Bitte geben Sie eine gültige E-Mail-Adresse"),
        (
            {"name": "Erika M", "email": "e@example.org", "phone": "ruf mich an"},
            "Eine Telefonnummer",
        ),
        ({"name": "Erika M", "email": "e@example.org", "locale": "fr"}, "Wählen Sie die Sprache"),
        (
            {"name": "Erika M", "email": "e@example.org", "start": "morgen"},
            "Bitte wählen Sie eine der freien Zeiten.",
        ),
        (
            {"name": "Erika M", "email": "e@example.org", "start": "2026-03-03T09:05:00+01:00"},
            "Zu dieser Uhrzeit kann kein Termin beginnen.",
        ),
    ]
    for values, message in cases:
        form = {"start": start, "locale": "de", **values}
        answer = post_form(client, path, **form)
        assert answer.status_code in (409, 422), values
        assert message in page(answer), values
    wrong_service = post_form(
        client,
        path,
        "/admin/appointments/new?service=nix",
        start=start,
        name="Erika M",
        email="e@example.org",
    )
    assert wrong_service.status_code == 422
    no_token = client.post(path, data={"start": start, "name": "Erika M", "email": "e@example.org"})
    assert no_token.status_code == 400
    assert count(store, AppointmentRow.__table__) == 0 and count(store, MailRow.__table__) == 0
    assert count(store, AuditRow.__table__) == 1  # the second factor set up, nothing else


def test_the_office_may_book_beyond_the_per_address_limit_only_when_ticked(office):
    client, app, _clock = office
    store = app.extensions["store"]
    times = free_times(app, SERVICE, TUESDAY)
    citizen_books(app, times[0])
    citizen_books(app, times[2])  # the address holds 2 upcoming: the citizens' limit
    path = f"/admin/appointments/new?lang=de&service={SERVICE}&day={TUESDAY}"
    details = {
        "start": times[4].isoformat(),
        "name": "Erika Mustermann",
        "email": "erika@example.org",
    }
    refused = post_form(client, path, **details)
    assert refused.status_code == 409
    assert "Kreuzen Sie „Über die Grenze hinaus buchen“ an" in page(refused)
    assert count(store, AppointmentRow.__table__) == 2
    allowed = post_form(client, path, beyond_limit="yes", **details)
    assert allowed.status_code == 303
    (entry,) = audit(store)
    assert entry.after["per_address_limit"] is None
    assert count(store, AppointmentRow.__table__) == 3


# --- moving and cancelling ----------------------------------------------------------------


def test_moving_keeps_the_citizens_links_mails_the_new_time_and_is_audited(office):
    client, app, _clock = office
    store = app.extensions["store"]
    first = free_times(app, SERVICE, MONDAY)[0]
    appointment_id, token = citizen_books(app, first)
    deliver(app)  # the confirmation
    before = row(store, appointment_id)
    path = f"/admin/appointments/{appointment_id}/move?lang=de&day={TUESDAY}"
    listed = page(client.get(path))
    target = free_times(app, SERVICE, TUESDAY)[3]
    assert f'value="{target.isoformat()}"' in listed
    moved = post_form(client, path, start=target.isoformat())
    assert moved.status_code == 303
    after = row(store, appointment_id)
    assert after.start_at == target and after.revision == before.revision + 1
    assert after.manage_token_hash == before.manage_token_hash  # the citizen's links still work

    (message,) = deliver(app)
    assert message["Subject"].startswith("Ihr Videotermin wurde verlegt auf Dienstag")
    assert links_for("http://hub.test", token).manage in text_of(message)

    (entry,) = audit(store)
    assert (entry.action, entry.target) == ("appointment.move", f"appointment:{appointment_id}")
    assert entry.before["start"] == first.astimezone(BERLIN).isoformat()
    assert entry.after["start"] == target.astimezone(BERLIN).isoformat()
    assert entry.before["status"] == entry.after["status"] == "booked"
    assert "Erika" not in str(entry.before) + str(entry.after)

    shown = page(client.get(f"/admin/appointments/{appointment_id}?lang=de"))
    assert "verschoben" in shown and "Die Bürgerin oder der Bürger erhält eine E-Mail." in shown


def test_a_move_to_a_time_gone_meanwhile_keeps_the_old_time(office):
    client, app, _clock = office
    store = app.extensions["store"]
    appointment_id, _ = citizen_books(app, free_times(app, SERVICE, MONDAY)[0])
    target = free_times(app, SERVICE, TUESDAY)[0]
    path = f"/admin/appointments/{appointment_id}/move?lang=de&day={TUESDAY}"
    token = page_token(page(client.get(path)))
    citizen_books(app, target, "Anna Eins", "anna@example.org")
    citizen_books(app, target, "Bert Zwei", "bert@example.org")
    mails_before = count(store, MailRow.__table__)
    gone = client.post(path, data={"csrf_token": token, "start": target.isoformat()})
    assert gone.status_code == 409
    assert "Dieser Termin wurde gerade vergeben." in page(gone)
    assert row(store, appointment_id).start_at != target
    assert count(store, MailRow.__table__) == mails_before and audit(store) == []
    bad = client.post(path, data={"csrf_token": token, "start": "gestern"})
    assert bad.status_code == 422 and "Bitte wählen Sie eine der freien Zeiten." in page(bad)


def test_cancelling_needs_a_reason_which_the_citizen_reads_in_the_mail(office):
    client, app, _clock = office
    store = app.extensions["store"]
    appointment_id, _ = citizen_books(app, free_times(app, SERVICE, TUESDAY)[0], locale="en")
    deliver(app)
    path = f"/admin/appointments/{appointment_id}?lang=de"
    empty = post_form(client, path, reason="   ")
    assert empty.status_code == 422
    assert "Bitte nennen Sie den Grund." in page(empty)
    assert row(store, appointment_id).status == Status.BOOKED and deliver(app) == []

    reason = "Die Sachbearbeiterin ist erkrankt. <b>Bitte</b> buchen Sie neu."
    done = post_form(client, path, reason=reason + "\u202e\n")
    assert done.status_code == 303
    cancelled = row(store, appointment_id)
    assert cancelled.status == Status.CANCELLED and cancelled.cancel_reason == reason
    with store.transaction() as session:
        assert not session.scalars(
            select(OccupancyRow).where(OccupancyRow.appointment_id == appointment_id)
        ).all()

    (message,) = deliver(app)  # in the citizen's language, the reason as typed
    assert message["Subject"].startswith("Cancelled: your video appointment")
    assert f"Reason given by the citizens' office: {reason}" in text_of(message)
    html = message.get_body(("html",)).get_content()
    assert "&lt;b&gt;Bitte&lt;/b&gt;" in html and "<b>Bitte" not in html

    (entry,) = audit(store)
    assert (entry.action, entry.target) == ("appointment.cancel", f"appointment:{appointment_id}")
    assert (entry.before["status"], entry.after["status"]) == ("booked", "cancelled")
    assert "erkrankt" not in str(entry.after)

    shown = page(client.get(path))
    assert "storniert" in shown and "erkrankt" in shown
    assert "nicht mehr verschoben oder storniert werden" in shown
    again = post_form(client, path, reason="noch einmal")
    assert again.status_code == 422 and len(audit(store)) == 1


def test_an_appointment_under_way_can_be_neither_moved_nor_cancelled(office):
    client, app, clock = office
    store = app.extensions["store"]
    start = free_times(app, SERVICE, MONDAY)[0]
    appointment_id, _ = citizen_books(app, start)
    for step in (29, 58):  # the session stays alive while it is used
        clock.at = MONDAY_EARLY + timedelta(minutes=step)
        assert client.get("/admin/appointments").status_code == 200
    clock.at = start + timedelta(minutes=1)
    path = f"/admin/appointments/{appointment_id}?lang=de"
    shown = page(client.get(path))
    assert "nicht mehr verschoben oder storniert werden" in shown and 'name="reason"' not in shown
    moved = client.get(f"/admin/appointments/{appointment_id}/move")
    assert moved.status_code == 303
    assert row(store, appointment_id).status == Status.BOOKED and audit(store) == []


def test_staff_changes_without_a_kept_secret_give_the_citizen_new_links(office):
    """An appointment whose mails are gone (or were never written): the office's mail carries
    new secrets, and the old ones stop working."""
    client, app, _clock = office
    store = app.extensions["store"]
    ext = app.extensions
    old = book(
        store,
        ext["settings"].booking_policy,
        MONDAY_EARLY,
        BookingRequest(SERVICE, free_times(app, SERVICE, MONDAY)[0], "Erika M", "e@example.org"),
    )
    target = free_times(app, SERVICE, TUESDAY)[0]
    path = f"/admin/appointments/{old.appointment.id}/move?day={TUESDAY}"
    assert post_form(client, path, start=target.isoformat()).status_code == 303
    (message,) = deliver(app)
    body = text_of(message)
    assert links_for("http://hub.test", old.manage_token).manage not in body
    new_token = re.search(r"http://hub\.test/manage/([\w-]+)", body).group(1)
    assert client.get(f"/manage/{new_token}").status_code == 200
    assert client.get(f"/manage/{old.manage_token}").status_code == 404


def test_the_pages_count_days_in_berlin_whatever_the_machines_time_zone(office, far_time_zone):
    client, app, clock = office
    start = free_times(app, SERVICE, MONDAY)[-1]  # Monday before noon in Berlin
    appointment_id, _ = citizen_books(app, start)
    clock.at = MONDAY_EARLY.replace(hour=0, minute=30)  # Sunday 23:30 UTC, Monday in Berlin
    listed = page(client.get("/admin/appointments?lang=de"))
    assert appointment_id.hex[:8].upper() in listed
    assert start.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M") in listed


# --- reading a citizen's details is audited ------------------------------------------------


def reads(store) -> list:
    """The audit's entries of reading, oldest first."""
    return list(reversed(entries(store, action="read.")[0]))


def test_opening_an_appointment_is_audited_without_the_citizens_details(office):
    client, app, _ = office
    store = app.extensions["store"]
    erika, _ = citizen_books(app, free_times(app, SERVICE, MONDAY)[0])
    assert reads(store) == []

    page = client.get(f"/admin/appointments/{erika}?lang=de").data.decode()
    assert "Erika Mustermann" in page and "erika@example.org" in page
    (entry,) = reads(store)
    assert (entry.actor, entry.action, entry.target) == (
        "web:leitung",
        "read.appointment",
        f"appointment:{erika}",
    )
    assert (entry.before, entry.after) == (None, None)

    # A cancel refused for want of a reason shows the details again: read again.
    refused = post_form(client, f"/admin/appointments/{erika}", reason="")
    assert refused.status_code == 422
    assert [e.action for e in reads(store)] == ["read.appointment"] * 3  # page, form, answer
    assert client.get("/admin/appointments/00000000-0000-4000-8000-000000000000").status_code == 404
    assert len(reads(store)) == 3  # nothing shown, nothing written

    audit = client.get("/admin/audit?action=read.&lang=de").data.decode()
    assert "read.appointment" in audit and str(erika) in audit
    assert "Erika" not in audit and "erika@" not in audit


def test_a_search_for_a_person_is_audited_with_its_criteria_but_not_the_name(office):
    client, app, _ = office
    store = app.extensions["store"]
    citizen_books(app, free_times(app, SERVICE, MONDAY)[0])
    by_day = client.get("/admin/appointments?from=2026-03-02&to=2026-03-06&service=" + SERVICE)
    assert by_day.status_code == 200 and "Erika" not in by_day.data.decode()
    assert reads(store) == []  # no names shown: nothing to audit

    found = client.get("/admin/appointments?from=2026-03-02&to=2026-03-06&who=Muster&lang=de")
    assert "Erika Mustermann" in found.data.decode()
    by_email = client.get(f"/admin/appointments?from=2026-03-01&to=2026-03-31&service={SERVICE}"
                          "&state=booked&who=erika@example.org")  # fmt: skip
    assert "Erika Mustermann" in by_email.data.decode()
    name, email = reads(store)
    assert (name.actor, name.action, name.target) == ("web:leitung", "read.search", "appointments")
    assert name.before is None and name.after == {
        "from": "2026-03-02", "to": "2026-03-06", "service": None, "state": None,
        "by": "name", "found": 1,
    }  # fmt: skip
    assert email.after == {
        "from": "2026-03-01", "to": "2026-03-31", "service": SERVICE, "state": "booked",
        "by": "email", "found": 1,
    }  # fmt: skip
    written = json.dumps([name.after, email.after])
    assert "Muster" not in written and "erika" not in written

    # A name search the office may not make (over a month, any service) reads nothing.
    wide = client.get("/admin/appointments?from=2026-03-01&to=2026-04-30&who=Muster")
    assert wide.status_code == 422 and len(reads(store)) == 2

"""The services and public holidays pages of the admin area (/admin/services, /admin/holidays)
through their forms: what a supervisor saves is what citizens are offered (names, checklist,
duration, counters, hidden), bad input is refused with the field marked and changes nothing,
fee items are added, changed and removed, holidays kept or worked, and every change is audited
with before and after. The hub in-process, its clock at MONDAY_EARLY (Monday 2 March 2026)."""

from __future__ import annotations

import re
import uuid
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.operations.accounts import add_user
from hub.operations.fees import list_fee_items
from hub.operations.services import service_details
from hub.store.models import AppointmentRow
from tests.integration.test_admin_office import audit, book, form_post, office, slot_times
from tests.integration.test_admin_sign_in import PASSWORD, first_sign_in
from tests.support.environment import MONDAY_EARLY

__all__ = ["office"]  # the fixture, shared with the office pages' tests

THURSDAY = date(2026, 3, 5)
GOOD_FRIDAY = date(2026, 4, 3)  # a public holiday in every German state
EPIPHANY = date(2027, 1, 6)  # a holiday in Baden-Württemberg, not in Hamburg
PAGE = "/admin/services/fuehrungszeugnis"
SAVE = "/admin/services/fuehrungszeugnis"


def settings_form(store, **changes: object) -> dict[str, object]:
    """The service form of Führungszeugnis as its page fills it now, with `changes`."""
    draft = service_details(store, "fuehrungszeugnis", MONDAY_EARLY).draft
    form: dict[str, object] = {
        "name_de": draft.name_de,
        "name_en": draft.name_en,
        "description_de": draft.description_de,
        "description_en": draft.description_en,
        "duration_minutes": str(draft.duration_minutes),
        "fee": f"{draft.fee_cents // 100},{draft.fee_cents % 100:02d}",
        "documents_de": "\n".join(draft.documents_de),
        "documents_en": "\n".join(draft.documents_en),
        "where": "all" if draft.counters is None else "some",
        "visible": "1",
    }
    return form | changes


def offered(client, lang: str = "de") -> dict[str, dict]:
    return {s["id"]: s for s in client.get(f"/api/v1/services?lang={lang}").json["services"]}


def test_only_the_office_roles_open_the_services_and_holidays_pages(office, store):
    client, app = office
    for path in ("/admin/services", PAGE, "/admin/services/new", "/admin/holidays"):
        assert client.get(path).status_code == 200, path
    assert client.get("/admin/services/no-such-service").status_code == 404
    add_user(store, "technik", PASSWORD, "it", MONDAY_EARLY)
    it = app.test_client()
    first_sign_in(it, app.extensions["clock"], "technik")
    for path in ("/admin/services", PAGE, "/admin/services/new", "/admin/holidays"):
        assert it.get(path).status_code == 403, path
    assert it.post(SAVE, data=settings_form(store)).status_code in (400, 403)
    home = it.get("/admin/?lang=de").data.decode()
    assert "Dienstleistungen" not in home and "Feiertage" not in home


def test_a_saved_service_is_what_citizens_are_offered_and_the_change_is_audited(office, store):
    client, app = office
    page = client.get(f"{PAGE}?lang=de").data.decode()
    assert (
        'value="Führungszeugnis"' in page
        and 'id="where-all" name="where" value="all" checked' in page
    )
    before = service_details(store, "fuehrungszeugnis", MONDAY_EARLY).draft
    answer = form_post(
        client,
        PAGE,
        SAVE,
        **settings_form(
            store,
            name_de="Führungszeugnis beantragen",
            duration_minutes="30",
            documents_de="Personalausweis\n\n  Zahlungsmittel  \n",
            documents_en="Identity card\nMeans of payment",
        ),
    )
    assert answer.status_code == 303
    shown = client.get(f"{PAGE}?lang=de").data.decode()
    assert "Dienstleistung Führungszeugnis beantragen gespeichert." in shown
    german, english = offered(client)["fuehrungszeugnis"], offered(client, "en")["fuehrungszeugnis"]
    assert german["name"] == "Führungszeugnis beantragen" and german["duration_minutes"] == 30
    assert german["documents"] == ["Personalausweis", "Zahlungsmittel"]
    assert english["documents"] == ["Identity card", "Means of payment"]
    starts = slot_times(app, "fuehrungszeugnis", THURSDAY)
    assert "11:30" in starts and "11:45" not in starts  # 30 minutes no longer fit at 11:45

    entry = audit(store, "service.update")[0]
    assert entry.actor == "web:leitung" and entry.target == "service:fuehrungszeugnis"
    assert entry.before == {
        "name_de": before.name_de,
        "duration_minutes": before.duration_minutes,
        "documents_de": list(before.documents_de),
        "documents_en": list(before.documents_en),
    }
    assert entry.after["name_de"] == "Führungszeugnis beantragen"
    assert entry.after["duration_minutes"] == 30
    assert "counters" not in entry.after and "active" not in entry.after  # not changed

    again = form_post(
        client,
        PAGE,
        SAVE,
        **settings_form(
            store,
            name_de="Führungszeugnis beantragen",
            duration_minutes="30",
            documents_de="Personalausweis\nZahlungsmittel",
            documents_en="Identity card\nMeans of payment",
        ),
    )
    assert again.status_code == 303
    assert len(audit(store, "service.update")) == 1  # nothing changed: nothing recorded


def test_bad_input_marks_its_field_keeps_what_was_typed_and_changes_nothing(office, store):
    client, _ = office
    before = service_details(store, "fuehrungszeugnis", MONDAY_EARLY).draft
    cases = {
        "duration_minutes": ("7", "Eine Dauer in Minuten, ein Vielfaches von 5"),
        "fee": ("12,345", "Einen Betrag in Euro, z. B. 12,50."),
        "name_de": ("   ", "Geben Sie einen deutschen Namen"),
        "documents_de": ("x" * 201, "höchstens 200 Zeichen"),
    }
    for field, (value, line) in cases.items():
        answer = form_post(
            client, f"{PAGE}?lang=de", SAVE, **settings_form(store, **{field: value})
        )
        text = answer.data.decode()
        assert answer.status_code == 422, field
        assert line in text, field
        assert 'aria-invalid="true"' in text
    none = form_post(client, PAGE, SAVE, **settings_form(store, where="some"))
    assert none.status_code == 422
    assert "Wählen Sie mindestens einen Schalter" in none.data.decode()
    forged = form_post(client, PAGE, SAVE, **settings_form(store, where="some", counter="99"))
    assert forged.status_code == 422
    assert service_details(store, "fuehrungszeugnis", MONDAY_EARLY).draft == before
    assert audit(store, "service.update") == []


def test_a_service_offered_at_one_counter_is_booked_only_there(office, store):
    client, app = office
    saved = form_post(client, PAGE, SAVE, **settings_form(store, where="some", counter="2"))
    assert saved.status_code == 303
    assert audit(store, "service.update")[0].after == {"counters": [2]}
    assert "Schalter 2" in client.get("/admin/services?lang=de").data.decode()

    first = book(client, "2026-03-05T08:00:00+01:00", 1)
    with store.transaction() as session:
        assert session.get(AppointmentRow, uuid.UUID(first)).counter_id == 2
    assert "08:00" not in slot_times(app, "fuehrungszeugnis", THURSDAY)  # counter 2 is taken
    assert "08:00" in slot_times(app, "anmeldung", THURSDAY)  # counter 1 still free then
    second = client.post(
        "/api/v1/appointments",
        json={
            "service_id": "fuehrungszeugnis",
            "start": "2026-03-05T08:00:00+01:00",
            "name": "Bernd Berg",
            "email": "b@example.org",
        },
    )
    assert second.status_code == 409  # counter 1 is free but does not offer it

    # Taking counter 2 out of service cannot move the appointment to counter 1.
    refused = form_post(
        client, "/admin/counters/2/deactivate", "/admin/counters/2/deactivate", move="1"
    )
    assert refused.status_code == 409
    back = form_post(client, PAGE, SAVE, **settings_form(store, where="all"))
    assert back.status_code == 303
    assert audit(store, "service.update")[0].after == {"counters": "all"}
    assert "08:00" in slot_times(app, "fuehrungszeugnis", THURSDAY)


def test_a_hidden_service_takes_no_bookings_and_its_appointments_stand(office, store):
    client, _ = office
    kept = book(client, "2026-03-05T09:00:00+01:00", 1)
    page = client.get(f"{PAGE}?lang=de").data.decode()
    assert "1 Termin dieser Dienstleistung ist schon gebucht" in page
    form = settings_form(store)
    del form["visible"]
    assert form_post(client, PAGE, SAVE, **form).status_code == 303
    assert "fuehrungszeugnis" not in offered(client)
    slots = client.get("/api/v1/services/fuehrungszeugnis/slots?from=2026-03-05&to=2026-03-05")
    assert slots.status_code == 404
    assert "nein, verborgen" in client.get("/admin/services?lang=de").data.decode()
    with store.transaction() as session:
        assert session.get(AppointmentRow, uuid.UUID(kept)).status.value == "booked"
    assert audit(store, "service.update")[0].after == {"active": False}


def test_a_new_service_is_added_hidden_or_shown_and_needs_a_free_id(office, store):
    client, app = office
    new = "/admin/services/new"
    form = settings_form(
        store,
        id="personalausweis",
        name_de="Personalausweis beantragen",
        name_en="Apply for an identity card",
        duration_minutes="20",
        fee="37,00",
    )
    assert form_post(client, new, new, **form).status_code == 303
    assert offered(client)["personalausweis"]["name"] == "Personalausweis beantragen"
    assert "08:00" in slot_times(app, "personalausweis", THURSDAY)
    assert list(offered(client))[-1] == "personalausweis"  # listed after the others
    twice = form_post(client, f"{new}?lang=de", new, **form)
    assert twice.status_code == 422
    assert (
        "Eine Dienstleistung mit der Kennung personalausweis gibt es schon." in twice.data.decode()
    )
    bad = form_post(client, f"{new}?lang=de", new, **form | {"id": "Personal Ausweis"})
    assert (
        bad.status_code == 422 and 'id="id" name="id" value="Personal Ausweis"' in bad.data.decode()
    )
    entry = audit(store, "service.add")
    assert len(entry) == 1 and entry[0].after["fee_cents"] == 3700


def test_fee_items_are_added_changed_and_removed_and_audited(office, store):
    client, _ = office
    fees = f"{PAGE}/fees"
    item = {
        "code": "zweit",
        "label_de": "Zweitschrift",
        "label_en": "Second copy",
        "purpose": "Zweitschrift",
        "amount": "5",
        "haushaltsstelle": "1.1220.361000",
    }
    umlaut = form_post(client, f"{PAGE}?lang=de", fees, **item | {"purpose": "Gebühr"})
    assert umlaut.status_code == 422
    assert "Buchungstext" in umlaut.data.decode() and 'value="Gebühr"' in umlaut.data.decode()
    assert [i.code for i in list_fee_items(store, "fuehrungszeugnis")] == ["fuehrungszeugnis"]

    assert form_post(client, PAGE, fees, **item).status_code == 303
    assert form_post(client, PAGE, fees, **item | {"amount": "6,50", "variable_quantity": "1"})
    items = list_fee_items(store, "fuehrungszeugnis")
    assert [(i.code, i.amount_cents, i.variable_quantity) for i in items] == [
        ("fuehrungszeugnis", 1300, True),
        ("zweit", 650, True),
    ]
    page = client.get(f"{PAGE}?lang=de").data.decode()
    assert "6,50 €" in page and "1.1220.361000" in page

    removed = form_post(client, PAGE, f"{fees}/zweit/remove")
    assert removed.status_code == 303
    assert [i.code for i in list_fee_items(store, "fuehrungszeugnis")] == ["fuehrungszeugnis"]
    assert form_post(client, PAGE, f"{fees}/zweit/remove").status_code == 404
    changes = audit(store, "service.fees")
    assert len(changes) == 3  # added, changed, removed
    assert [i["code"] for i in changes[0].before["items"]] == ["fuehrungszeugnis", "zweit"]
    assert [i["code"] for i in changes[0].after["items"]] == ["fuehrungszeugnis"]


def test_a_holiday_is_worked_or_kept_and_a_booked_one_cannot_be_closed_again(office, store):
    client, app = office
    page = client.get("/admin/holidays?lang=de").data.decode()
    assert "Karfreitag" in page and "Heilige Drei Könige" in page  # Baden-Württemberg
    assert slot_times(app, "fuehrungszeugnis", GOOD_FRIDAY) == []

    opened = form_post(
        client, "/admin/holidays", "/admin/holidays/day", day="2026-04-03", observed="0"
    )
    assert opened.status_code == 303
    assert slot_times(app, "fuehrungszeugnis", GOOD_FRIDAY)[:2] == ["08:00", "08:15"]
    entry = audit(store, "holidays.observed")[0]
    assert entry.after == {"day": "2026-04-03", "observed": False}
    shown = client.get("/admin/holidays?lang=de").data.decode()
    assert "geöffnet mit den Wochenzeiten" in shown

    book(client, "2026-04-03T08:00:00+02:00", 1)
    refused = form_post(
        client, "/admin/holidays?lang=de", "/admin/holidays/day", day="2026-04-03", observed="1"
    )
    assert refused.status_code == 409
    assert "Schließung" in refused.data.decode()
    assert "08:15" in slot_times(app, "fuehrungszeugnis", GOOD_FRIDAY)  # still open
    not_one = form_post(
        client, "/admin/holidays", "/admin/holidays/day", day="2026-04-07", observed="0"
    )
    assert not_one.status_code == 400  # no holiday that day


def test_another_states_holidays_apply_and_the_change_is_refused_over_bookings(office, store):
    client, app = office
    hamburg = form_post(client, "/admin/holidays", "/admin/holidays/state", state="HH")
    assert hamburg.status_code == 303
    page = client.get("/admin/holidays?lang=de").data.decode()
    assert "Feiertage in Hamburg" in page and "Karfreitag" in page
    assert "Heilige Drei Könige" not in page and "Fronleichnam" not in page
    none = form_post(client, "/admin/holidays", "/admin/holidays/state", state="")
    assert none.status_code == 303
    assert slot_times(app, "fuehrungszeugnis", GOOD_FRIDAY)  # no holidays at all now
    book(client, "2026-04-03T08:00:00+02:00", 1)
    back = form_post(client, "/admin/holidays?lang=de", "/admin/holidays/state", state="BW")
    assert back.status_code == 409 and "03.04.2026" in back.data.decode()
    assert slot_times(app, "fuehrungszeugnis", GOOD_FRIDAY)  # nothing changed
    forged = form_post(client, "/admin/holidays", "/admin/holidays/state", state="XX")
    assert forged.status_code == 400
    assert [e.after for e in audit(store, "holidays.state")] == [{"state": None}, {"state": "HH"}]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fields=st.dictionaries(
        st.sampled_from(
            ["name_de", "name_en", "duration_minutes", "fee", "documents_de", "where", "counter"]
        ),
        st.text(max_size=300),
    )
)
def test_any_form_is_saved_whole_or_refused_without_a_trace(office, store, fields):
    client, _ = office
    before = service_details(store, "fuehrungszeugnis", MONDAY_EARLY).draft
    answer = form_post(client, PAGE, SAVE, **settings_form(store, **fields))
    assert answer.status_code in (303, 400, 422), answer.status_code
    after = service_details(store, "fuehrungszeugnis", MONDAY_EARLY).draft
    if answer.status_code != 303:
        assert after == before
    else:
        assert after.name_de == " ".join(str(fields.get("name_de", before.name_de)).split())
    assert re.search(r"Traceback|Internal Server Error", answer.data.decode()) is None


def test_the_command_line_changes_the_same_things_and_is_audited(store, tmp_path):
    from tests.integration.test_cli import run

    env = {"BUERGERAMT_DATABASE_URL": store.url}
    limited = run(
        tmp_path, "services", "set", "fuehrungszeugnis", "--counters", "Schalter 2", env=env
    )
    assert limited.returncode == 0, limited.stderr
    assert service_details(store, "fuehrungszeugnis", MONDAY_EARLY).draft.counters == {2}
    unknown = run(tmp_path, "services", "set", "fuehrungszeugnis", "--counters", "9", env=env)
    assert unknown.returncode == 2 and "--counters" in unknown.stderr
    assert (
        run(
            tmp_path, "services", "set", "fuehrungszeugnis", "--counters", "all", env=env
        ).returncode
        == 0
    )

    # A holiday far ahead, so that the test holds whatever the machine's date.
    worked = run(tmp_path, "holidays", "work", "2040-01-06", env=env)
    assert worked.returncode == 0, worked.stderr
    listing = run(tmp_path, "holidays", "list", "--year", "2040", env=env).stdout
    assert "2040-01-06  OPEN    Heilige Drei Könige" in listing
    assert "2040-03-30  closed  Karfreitag" in listing
    no_holiday = run(tmp_path, "holidays", "work", "2040-01-09", env=env)
    assert no_holiday.returncode == 2 and "no public holiday" in no_holiday.stderr
    bad_state = run(tmp_path, "holidays", "state", "XX", env=env)
    assert bad_state.returncode == 2 and "no German state 'XX'" in bad_state.stderr

    actions = [(e.action, e.actor.split(":")[0], e.after) for e in audit(store)]
    assert actions == [
        ("holidays.observed", "cli", {"day": "2040-01-06", "observed": False}),
        ("service.update", "cli", {"counters": "all"}),
        ("service.update", "cli", {"counters": [2]}),
    ]

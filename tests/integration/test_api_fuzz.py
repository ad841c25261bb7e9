"""Property tests on the API's inputs: never a 500, and a refused request writes nothing."""

import json
from datetime import datetime
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from hub.store.models import AppointmentRow, OccupancyRow

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
CLIENT_ERRORS = {400, 401, 404, 405, 409, 413, 415, 422}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
datetimes_as_text = st.one_of(
    st.datetimes().map(lambda d: d.isoformat()),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "2026-03-02T09:00:00+01:00",
            "2026-03-02T09:00:00",
            "09:00",
            "",
            "2026-02-30T09:00:00+01:00",
            "2026-03-02T09:00:00+25:00",
        ]
    ),
    st.text(max_size=40),
)
booking_bodies = st.fixed_dictionaries(
    {},
    optional={
        "service_id": st.one_of(
            st.sampled_from(["meldebescheinigung", "anmeldung", "x"]),
            st.text(max_size=70),
            json_values,
        ),
        "start": st.one_of(datetimes_as_text, json_values),
        "name": st.one_of(st.text(max_size=250), json_values),
        "email": st.one_of(st.emails(), st.text(max_size=60), json_values),
        "locale": st.one_of(st.sampled_from(["de", "en", "fr"]), json_values),
        "extra": json_values,
    },
)


def counts(store):
    with store.transaction() as session:
        return (
            session.scalar(select(func.count()).select_from(AppointmentRow)),
            session.scalar(select(func.count()).select_from(OccupancyRow)),
        )


@FUZZ
@given(body=booking_bodies)
def test_booking_bodies_never_fail_and_refusals_write_nothing(client, store, body):
    before = counts(store)
    response = client.post("/api/v1/appointments", json=body)
    assert response.status_code == 201 or response.status_code in CLIENT_ERRORS, response.json
    assert "error" in response.json or response.status_code == 201
    if response.status_code != 201:
        assert counts(store) == before


@FUZZ
@given(
    raw=st.binary(max_size=300),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "application/json; charset=latin-1", ""]
    ),
)
def test_raw_bytes_are_refused_cleanly(client, store, raw, content_type):
    before = counts(store)
    response = client.post("/api/v1/appointments", data=raw, content_type=content_type)
    assert response.status_code in CLIENT_ERRORS
    assert response.json["error"]["code"]
    assert counts(store) == before


@FUZZ
@given(service=st.text(max_size=30), first=st.text(max_size=12), last=st.text(max_size=12))
def test_slot_queries_never_fail(client, service, first, last):
    response = client.get(
        f"/api/v1/services/{quote(service or 'x', safe='')}/slots",
        query_string={"from": first, "to": last},
    )
    assert response.status_code in {200, *CLIENT_ERRORS}
    assert response.is_json


@FUZZ
@given(
    ident=st.one_of(st.text(max_size=40), st.uuids().map(str)),
    token=st.one_of(
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
        st.from_regex(r"\A[A-Za-z0-9_-]{43}\Z"),
    ),
    start=st.one_of(datetimes_as_text, json_values),
    method=st.sampled_from(["GET", "PATCH", "DELETE", "PUT"]),
)
def test_manage_requests_with_junk_never_fail_or_write(client, store, ident, token, start, method):
    before = counts(store)
    response = client.open(
        f"/api/v1/appointments/{quote(ident or 'x', safe='')}",
        method=method,
        headers={"Authorization": f"Bearer {token}"},
        data=json.dumps({"start": start}),
        content_type="application/json",
    )
    assert response.status_code in CLIENT_ERRORS
    assert counts(store) == before


@FUZZ
@given(
    start=st.one_of(
        datetimes_as_text,
        json_values,
        st.datetimes(min_value=datetime(2026, 3, 1), max_value=datetime(2026, 5, 1)).map(
            lambda d: (
                d.replace(minute=d.minute // 15 * 15, second=0, microsecond=0).isoformat()
                + "+01:00"
            )
        ),
    )
)
def test_reschedule_to_any_start_keeps_the_appointment_whole(client, store, start):
    booked = client.post(
        "/api/v1/appointments",
        json={
            "service_id": "meldebescheinigung",
            "start": "2026-03-03T09:00:00+01:00",
            "name": "A",
            "email": "a@example.org",
        },
    ).json
    before = counts(store)
    url, headers = (
        f"/api/v1/appointments/{booked['id']}",
        {"Authorization": f"Bearer {booked['manage_token']}"},
    )
    response = client.patch(url, json={"start": start}, headers=headers)
    assert response.status_code == 200 or response.status_code in CLIENT_ERRORS
    after = client.get(url, headers=headers).json
    if response.status_code != 200:
        assert after["start"] == "2026-03-03T09:00:00+01:00"
    assert counts(store) == before  # moving never adds or loses occupancy
    client.delete(url, headers=headers)

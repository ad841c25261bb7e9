"""Schemathesis against the hub served on loopback: the API answers what /api/v1/openapi.json says.

Three runs, each on a hub of its own (PostgreSQL, clock at MONDAY_EARLY so slots exist):
- every operation with generated valid and invalid input (rate limits off): never a 5xx, only
  documented statuses, JSON where JSON is promised, bodies matching their schemas;
- the document's links followed statefully (POST /appointments → GET, PATCH, DELETE with the
  manage secret from the answer), rate limits off: the links open, change and cancel bookings;
- the same with rate limits on: the 429s conform to the document as well.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.environment import MONDAY_EARLY

CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]
CHECKS = [not_a_server_error, *CONFORMANCE]
CLOCK = MONDAY_EARLY.isoformat()
NO_LIMITS = {"clock_start": CLOCK, "rate_limit_enabled": "false", "max_open_per_email": "0"}
# Low enough that a short stateful run runs into every one of them.
LIMITS = {
    "clock_start": CLOCK,
    "rate_limit_read": "10/minute",
    "rate_limit_booking": "15/minute",
    "rate_limit_per_email": "5/hour",
}
EXAMPLES_PER_OPERATION = 100
QUICK = settings(
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _schema(url: str) -> Any:
    return schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json")


def test_every_operation_answers_as_documented(pg_store, serve_hub):
    """Generated valid and invalid requests to every operation; invalid ones must be refused."""
    hub = serve_hub(pg_store.url, **NO_LIMITS)
    schema = _schema(hub.url)
    statuses: Counter[tuple[str, int]] = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 7
    # Also with a service that exists, so that the dates are read, not just the unknown id.
    runs = [(op, {}) for op in operations] + [
        (schema["/services/{service_id}/slots"]["GET"], {"service_id": "meldebescheinigung"})
    ]
    for operation, path_parameters in runs:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

            @given(case=strategy)
            @settings(QUICK, max_examples=EXAMPLES_PER_OPERATION)
            def run(case: Case) -> None:
                response = case.call_and_validate(checks=[*CHECKS, negative_data_rejection])
                statuses[(case.operation.label, response.status_code)] += 1

            run()
    assert statuses[("GET /services", 200)] > 0 and statuses[("GET /services", 422)] > 0
    assert statuses[("GET /services/{service_id}/slots", 200)] > 0, statuses
    assert statuses[("POST /appointments", 422)] > 0, statuses
    assert not any(status >= 500 for _, status in statuses), statuses


class _Run:
    """What a stateful run saw: statuses per operation."""

    def __init__(self) -> None:
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.scenarios = 0


def _state_machine(url: str, run: _Run) -> Any:
    """The document's state machine, with bookable bodies (free starts, names, unique addresses)
    so that POST /appointments books and the links have something to open."""
    slots = httpx.get(
        f"{url}/api/v1/services/meldebescheinigung/slots",
        params={"from": "2026-03-02", "to": "2026-03-13"},
    ).json()["slots"]
    assert len(slots) > 50
    starts = itertools.cycle(slot["start"] for slot in slots)
    addresses = itertools.count()
    base = _schema(url).as_state_machine()

    class Machine(base):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            run.scenarios += 1

        def before_call(self, case: Case) -> None:
            label = case.operation.label
            if label == "POST /appointments" and isinstance(case.body, dict):
                case.body = {
                    "service_id": "meldebescheinigung",
                    "start": next(starts),
                    "name": "Erika Mustermann",
                    "email": f"citizen{next(addresses)}@example.org",
                }
            elif label == "PATCH /appointments/{id}" and isinstance(case.body, dict):
                case.body = {"start": next(starts)}

        def after_call(self, response: Any, case: Case) -> None:
            run.statuses[(case.operation.label, response.status_code)] += 1

        def validate_response(self, response: Any, case: Case, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    return Machine


def _run_stateful(url: str, scenarios: int) -> _Run:
    """Run scenarios until `scenarios` have run. The server keeps state (slots taken, limits
    counted), so Hypothesis may find a rule's bundle empty that was full before and give up
    with FlakyStrategyDefinition; like schemathesis's own runner, start again then."""
    run = _Run()
    machine = _state_machine(url, run)
    for _ in range(10):
        if run.scenarios >= scenarios:
            break
        try:
            machine.run(
                settings=settings(
                    QUICK,
                    max_examples=scenarios - run.scenarios,
                    stateful_step_count=6,
                    phases=[Phase.generate],
                )
            )
        except FlakyStrategyDefinition:
            continue
    assert run.scenarios >= scenarios
    return run


def test_links_from_a_booking_open_change_and_cancel_it(pg_store, serve_hub):
    """The document's links carry id and manage secret from POST /appointments onwards."""
    hub = serve_hub(pg_store.url, **NO_LIMITS)
    run = _run_stateful(hub.url, scenarios=40)
    assert run.statuses[("POST /appointments", 201)] > 0, run.statuses
    # Only the links supply a matching id and secret: random ones answer 401 or 404.
    for label in (
        "GET /appointments/{id}",
        "PATCH /appointments/{id}",
        "DELETE /appointments/{id}",
    ):
        assert run.statuses[(label, 200)] > 0, run.statuses
    assert not any(status >= 500 for _, status in run.statuses)


@pytest.mark.timeout(300)
def test_rate_limited_answers_conform_too(pg_store, serve_hub):
    """With the limits on, the stateful run meets 429s; each conforms to the document."""
    hub = serve_hub(pg_store.url, **LIMITS)
    run = _run_stateful(hub.url, scenarios=40)
    limited = {label for label, status in run.statuses if status == 429}
    assert "POST /appointments" in limited, run.statuses
    assert limited & {"GET /services", "GET /services/{service_id}/slots"}, run.statuses
    assert run.statuses[("POST /appointments", 201)] > 0, run.statuses


BOOKING = {
    "service_id": "meldebescheinigung",
    "start": "2026-03-03T09:00:00+01:00",
    "name": "Erika Mustermann",
    "email": "erika@example.org",
}
SOME_ID = "3f1c1c5e-8d4e-4b8e-9d55-0c6f1f0b2a10"
SOME_TOKEN = "A" * 43


def test_a_language_other_than_de_or_en_is_refused_as_documented(sqlite_store, serve_hub):
    """`?lang=` has the enum de, en: anything else is a 422 in the error shape, on every
    operation (it was ignored, and the answer was 200)."""
    hub = serve_hub(sqlite_store.url, **NO_LIMITS)
    schema = _schema(hub.url)
    services = schema["/services"]["GET"]
    for lang in ("AAA", "fr", ""):
        refused = services.Case(query={"lang": lang}).call_and_validate(checks=CHECKS)
        assert refused.status_code == 422
        error = refused.json()["error"]
        assert (error["code"], error["field"]) == ("invalid_field", "lang")
        assert error["message"] == "Das Feld „lang“ hat einen ungültigen Wert."
    english = services.Case(query={"lang": "en"}).call_and_validate(checks=CHECKS)
    assert english.status_code == 200
    booked = schema["/appointments"]["POST"].Case(
        query={"lang": "xx"}, body=BOOKING, media_type="application/json"
    )
    assert booked.call_and_validate(checks=CHECKS).status_code == 422
    read = schema["/appointments/{id}"]["GET"].Case(
        path_parameters={"id": SOME_ID},
        query={"lang": "english"},
        headers={"Authorization": f"Bearer {SOME_TOKEN}"},
    )
    assert read.call_and_validate(checks=CHECKS).json()["error"]["field"] == "lang"
    # Nothing was booked by the refused request.
    free = httpx.get(
        f"{hub.url}/api/v1/services/meldebescheinigung/slots",
        params={"from": "2026-03-03", "to": "2026-03-03"},
    ).json()["slots"]
    assert free.count({"start": BOOKING["start"], "end": "2026-03-03T09:10:00+01:00"}) == 1


def test_refusals_of_valid_looking_input_are_documented(sqlite_store, serve_hub):
    """A date range ending before it starts (422 invalid_range) and a too large body for PATCH
    (413) are in the document, with their codes."""
    hub = serve_hub(sqlite_store.url, **NO_LIMITS)
    schema = _schema(hub.url)
    slots = schema["/services/{service_id}/slots"]["GET"].Case(
        path_parameters={"service_id": "meldebescheinigung"},
        query={"from": "2026-03-10", "to": "2026-03-02"},
    )
    backwards = slots.call_and_validate(checks=CHECKS)
    assert backwards.status_code == 422
    assert backwards.json()["error"]["code"] == "invalid_range"
    codes = schema.raw_schema["paths"]["/services/{service_id}/slots"]["get"]["responses"]["422"]
    assert "invalid_range" in str(codes)

    booked = httpx.post(f"{hub.url}/api/v1/appointments", json=BOOKING).json()
    patch = schema["/appointments/{id}"]["PATCH"].Case(
        path_parameters={"id": booked["id"]},
        headers={"Authorization": f"Bearer {booked['manage_token']}"},
        body={"start": "2026-03-03T10:00:00+01:00", "note": "x" * 17_000},
        media_type="application/json",
    )
    too_large = patch.call_and_validate(checks=CHECKS)
    assert too_large.status_code == 413
    assert too_large.json()["error"]["code"] == "payload_too_large"


def test_an_unreachable_database_answers_503_as_documented(serve_hub):
    """Every operation answers 503 `unavailable` while the database is down, as documented."""
    hub = serve_hub("postgresql+psycopg://postgres@127.0.0.1:1/test", **NO_LIMITS)
    schema = _schema(hub.url)
    bearer = {"Authorization": f"Bearer {SOME_TOKEN}"}
    cases = [
        schema["/services"]["GET"].Case(),
        schema["/services/{service_id}/slots"]["GET"].Case(
            path_parameters={"service_id": "meldebescheinigung"}
        ),
        schema["/appointments"]["POST"].Case(body=BOOKING, media_type="application/json"),
        schema["/appointments/{id}"]["GET"].Case(path_parameters={"id": SOME_ID}, headers=bearer),
        schema["/appointments/{id}"]["PATCH"].Case(
            path_parameters={"id": SOME_ID},
            headers=bearer,
            body={"start": BOOKING["start"]},
            media_type="application/json",
        ),
        schema["/appointments/{id}"]["DELETE"].Case(
            path_parameters={"id": SOME_ID}, headers=bearer
        ),
        schema["/appointments/{id}/confirm"]["POST"].Case(
            path_parameters={"id": SOME_ID}, headers=bearer
        ),
    ]
    for case in cases:
        response = case.call_and_validate(checks=CONFORMANCE)  # a 503 is the point here
        assert response.status_code == 503, (case.operation.label, response.text)
        assert response.json()["error"]["code"] == "unavailable"

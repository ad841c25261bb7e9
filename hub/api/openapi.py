"""The OpenAPI 3.1 document. Request schemas come from the pydantic models that validate them."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel

from hub.booking.status import Status
from hub.i18n import LANGUAGES
from hub.inputs import BookingBody, RescheduleBody
from hub.messages import ERRORS

ISO = {
    "type": "string",
    "format": "date-time",
    "description": "ISO 8601 with offset, in Europe/Berlin",
}

# Days outside these years are refused with 422 `date_out_of_range` (hub.booking.timezone).
DAY = {
    "type": "string",
    "format": "date",
    "description": "YYYY-MM-DD, between 2000-01-01 and 2999-12-31",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


# Every operation can answer these: a `lang` that is neither de nor en, too many requests, the
# database unreachable.
COMMON_ERRORS = ("invalid_field", "rate_limited", "unavailable")


def _errors(*codes: str) -> dict[str, Any]:
    """One response per status that `codes` (and COMMON_ERRORS) have, each naming its codes."""
    by_status: dict[int, list[str]] = {}
    for code in sorted({*codes, *COMMON_ERRORS}):
        by_status.setdefault(ERRORS[code][0], []).append(code)
    responses: dict[str, Any] = {}
    for status, group in sorted(by_status.items()):
        schema = {
            "allOf": [
                _ref("Error"),
                _obj([], error=_obj([], code={"type": "string", "enum": group})),
            ]
        }
        described = ", ".join(f"`{c}`" for c in group)
        response = _json(schema, f"Error {status}: {described}")
        if status == 429:
            response["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before trying again",
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                }
            }
        responses[str(status)] = response
    return responses


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


APPOINTMENT = _obj(
    ["id", "service_id", "start", "end", "status", "manage_url", "join_url"],
    id={"type": "string", "format": "uuid"},
    service_id={"type": "string"},
    start=ISO,
    end=ISO,
    status={"type": "string", "enum": [status.value for status in Status]},
    name={"type": "string"},
    email={"type": "string", "format": "email"},
    locale={"type": "string", "enum": ["de", "en"]},
    created_at=ISO,
    cancelled_at={**ISO, "type": ["string", "null"]},
    hold_until={**ISO, "type": ["string", "null"]},
    manage_url={"type": "string", "format": "uri"},
    join_url={"type": "string", "format": "uri"},
)

SCHEMAS: dict[str, Any] = {
    "Service": _obj(
        ["id", "name", "duration_minutes", "fee_cents"],
        id={"type": "string"},
        name={"type": "string"},
        description={"type": "string"},
        duration_minutes={"type": "integer"},
        fee_cents={"type": "integer"},
        currency={"type": "string", "const": "EUR"},
        documents={"type": "array", "items": {"type": "string"}},
    ),
    "Slot": _obj(["start", "end"], start=ISO, end=ISO),
    "Appointment": APPOINTMENT,
    "BookedAppointment": {
        "oneOf": [
            {
                "allOf": [
                    _ref("Appointment"),
                    _obj(
                        ["manage_token"],
                        manage_token={"type": "string", "description": "shown once"},
                    ),
                ]
            },
            _obj(  # with holds on: the secret goes only by e-mail
                ["id", "status", "hold_until"],
                id={"type": "string", "format": "uuid"},
                service_id={"type": "string"},
                start=ISO,
                end=ISO,
                status={"type": "string", "const": Status.HELD.value},
                hold_until=ISO,
            ),
        ]
    },
    "Error": _obj(
        ["error"],
        error=_obj(
            ["code", "message"],
            code={"type": "string", "enum": sorted(ERRORS)},
            message={"type": "string"},
            field={"type": "string"},
            alternatives={"type": "array", "items": _ref("Slot")},
        ),
    ),
}

ID_PARAM = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}
LANG_PARAM = {
    "name": "lang",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": list(LANGUAGES)},
    "description": "Language of names and messages (else Accept-Language, else German); "
    "any other value: 422 `invalid_field` (field `lang`)",
}
BEARER: list[dict[str, list[str]]] = [{"manageToken": []}]


def _body(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("title", None)
    return {"required": True, "content": {"application/json": {"schema": schema}}}


# Request bodies: what json_body (hub.api.requests) refuses before the operation runs.
BODY_ERRORS = (
    "invalid_json",
    "invalid_body",
    "payload_too_large",
    "unsupported_media_type",
    "missing_field",
    "unknown_field",
    "invalid_field",
)
# An appointment opened with its manage secret; `not_found`: an id that routes nowhere.
MANAGE_ERRORS = ("token_required", "appointment_not_found", "not_found")
START_ERRORS = ("start_too_soon", "start_too_far", "start_not_offered")
CHANGE_ERRORS = ("appointment_cancelled", "appointment_past", "hold_expired")


def _links(*operations: str) -> dict[str, Any]:
    """Links from a booking to what its manage secret opens (followed by stateful clients)."""
    return {
        operation: {
            "operationId": operation,
            "parameters": {
                "path.id": "$response.body#/id",
                "header.Authorization": "Bearer {$response.body#/manage_token}",
            },
            "description": "The booked appointment, opened with its manage secret",
        }
        for operation in operations
    }


@cache
def _paths() -> dict[str, Any]:
    appointment = _json(_ref("Appointment"), "The appointment")
    return {
        "/services": {
            "get": {
                "summary": "List bookable services",
                "operationId": "listServices",
                "parameters": [LANG_PARAM],
                "responses": {
                    "200": {
                        **_json(
                            _obj(
                                ["services"], services={"type": "array", "items": _ref("Service")}
                            ),
                            "Services",
                        ),
                        "links": {
                            "listSlots": {
                                "operationId": "listSlots",
                                "parameters": {"path.service_id": "$response.body#/services/0/id"},
                                "description": "Free slots of the first service",
                            }
                        },
                    },
                    **_errors(),
                },
            }
        },
        "/services/{service_id}/slots": {
            "get": {
                "summary": "Free slots of a service",
                "operationId": "listSlots",
                "parameters": [
                    {
                        "name": "service_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "from",
                        "in": "query",
                        "schema": DAY,
                        "description": "First local day (default: today)",
                    },
                    {
                        "name": "to",
                        "in": "query",
                        "schema": DAY,
                        "description": "Last local day, inclusive (default: 14 days from `from`);"
                        " before `from`: 422 `invalid_range`, more than 62 days: 422"
                        " `range_too_long`",
                    },
                    LANG_PARAM,
                ],
                "responses": {
                    "200": _json(
                        _obj(
                            ["slots"],
                            service_id={"type": "string"},
                            slots={"type": "array", "items": _ref("Slot")},
                        ),
                        "Free slots",
                    ),
                    **_errors(
                        "service_not_found",
                        "not_found",
                        "invalid_date",
                        "date_out_of_range",
                        "invalid_range",
                        "range_too_long",
                    ),
                },
            }
        },
        "/appointments": {
            "post": {
                "summary": "Book an appointment",
                "operationId": "book",
                "parameters": [LANG_PARAM],
                "requestBody": _body(BookingBody),
                "responses": {
                    "201": {
                        **_json(_ref("BookedAppointment"), "Booked"),
                        "links": _links("readAppointment", "reschedule", "cancel"),
                    },
                    **_errors(
                        *BODY_ERRORS,
                        *START_ERRORS,
                        "invalid_name",
                        "service_not_found",
                        "slot_taken",
                        "too_many_appointments",
                    ),
                },
            }
        },
        "/appointments/{id}": {
            "parameters": [ID_PARAM, LANG_PARAM],
            "get": {
                "summary": "Read an appointment",
                "operationId": "readAppointment",
                "security": BEARER,
                "responses": {"200": appointment, **_errors(*MANAGE_ERRORS)},
            },
            "patch": {
                "summary": "Reschedule",
                "operationId": "reschedule",
                "security": BEARER,
                "requestBody": _body(RescheduleBody),
                "responses": {
                    "200": appointment,
                    **_errors(
                        *MANAGE_ERRORS,
                        *BODY_ERRORS,
                        *START_ERRORS,
                        *CHANGE_ERRORS,
                        "service_not_found",
                        "slot_taken",
                    ),
                },
            },
            "delete": {
                "summary": "Cancel",
                "operationId": "cancel",
                "security": BEARER,
                "responses": {
                    "200": appointment,  # also when cancelled before
                    **_errors(*MANAGE_ERRORS, "appointment_past", "hold_expired"),
                },
            },
        },
        "/appointments/{id}/confirm": {
            "parameters": [ID_PARAM, LANG_PARAM],
            "post": {
                "summary": "Confirm a held booking with the secret from the e-mail",
                "operationId": "confirm",
                "security": BEARER,
                "responses": {"200": appointment, **_errors(*MANAGE_ERRORS, *CHANGE_ERRORS)},
            },
        },
    }


def document(server_url: str) -> dict[str, Any]:
    """The whole document, with this deployment's public URL as server."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Bürgeramt Virtuell API",
            "version": "1.0.0",
            "description": "Book and manage video appointments with the citizens' office.",
        },
        "servers": [{"url": f"{server_url}/api/v1"}],
        "paths": _paths(),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "manageToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The secret from the appointment's manage link",
                }
            },
        },
    }

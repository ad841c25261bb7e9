"""The OpenAPI 3.1 document. Request schemas come from the pydantic models that validate them."""

from __future__ import annotations

from functools import cache
from typing import Any

from hub.api.errors import ERRORS
from hub.api.schemas import BookingBody, RescheduleBody

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


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): _json(_ref("Error"), f"Error ({s})") for s in statuses}


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


APPOINTMENT = _obj(
    ["id", "service_id", "start", "end", "status", "manage_url", "join_url"],
    id={"type": "string", "format": "uuid"},
    service_id={"type": "string"},
    start=ISO,
    end=ISO,
    status={"type": "string", "enum": ["held", "booked", "cancelled", "released"]},
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
                status={"type": "string", "const": "held"},
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
    "schema": {"type": "string", "enum": ["de", "en"]},
}
BEARER = [{"manageToken": []}]


def _body(model: type) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")  # type: ignore[attr-defined]
    schema.pop("title", None)
    return {"required": True, "content": {"application/json": {"schema": schema}}}


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
                    "200": _json(
                        _obj(["services"], services={"type": "array", "items": _ref("Service")}),
                        "Services",
                    ),
                    **_errors(429),
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
                        "description": "Last local day, inclusive (default: 14 days from `from`)",
                    },
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
                    **_errors(404, 422, 429),
                },
            }
        },
        "/appointments": {
            "post": {
                "summary": "Book an appointment",
                "operationId": "book",
                "requestBody": _body(BookingBody),
                "responses": {
                    "201": _json(_ref("BookedAppointment"), "Booked"),
                    **_errors(400, 404, 409, 413, 415, 422, 429),
                },
            }
        },
        "/appointments/{id}": {
            "parameters": [ID_PARAM],
            "get": {
                "summary": "Read an appointment",
                "operationId": "readAppointment",
                "security": BEARER,
                "responses": {"200": appointment, **_errors(401, 404, 429)},
            },
            "patch": {
                "summary": "Reschedule",
                "operationId": "reschedule",
                "security": BEARER,
                "requestBody": _body(RescheduleBody),
                "responses": {"200": appointment, **_errors(400, 401, 404, 409, 415, 422, 429)},
            },
            "delete": {
                "summary": "Cancel",
                "operationId": "cancel",
                "security": BEARER,
                "responses": {"200": appointment, **_errors(401, 404, 409, 429)},
            },
        },
        "/appointments/{id}/confirm": {
            "parameters": [ID_PARAM],
            "post": {
                "summary": "Confirm a held booking with the secret from the e-mail",
                "operationId": "confirm",
                "security": BEARER,
                "responses": {"200": appointment, **_errors(401, 404, 409, 429)},
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

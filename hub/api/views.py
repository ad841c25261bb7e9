"""Routes of the JSON API. Each one parses, calls an operation and renders the result."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from hub.api.errors import ApiError
from hub.api.openapi import document
from hub.api.requests import appointment_id, bearer_token, json_body, query_date
from hub.booking.catalogue import Service
from hub.booking.schedule import Interval
from hub.booking.status import Status
from hub.booking.timezone import local_date, to_local_iso
from hub.context import hub_settings, mails, now, store
from hub.i18n import LANGUAGES, current_language
from hub.inputs import BookingBody, RescheduleBody
from hub.links import links_for
from hub.metrics import metrics
from hub.operations import booking
from hub.operations.booking import Appointment, BookingRequest
from hub.ratelimit import email_key, limiter, per_email_limit, read_limit, write_limit

bp = Blueprint("api", __name__, url_prefix="/api/v1")
DEFAULT_RANGE_DAYS = 14


def _service_json(service: Service, lang: str) -> dict[str, Any]:
    return {
        "id": service.id,
        "name": service.name(lang),
        "description": service.description(lang),
        "duration_minutes": service.duration_minutes,
        "fee_cents": service.fee_cents,
        "currency": "EUR",
        "documents": list(service.documents(lang)),
    }


def _slot_json(slot: Interval) -> dict[str, str]:
    return {"start": to_local_iso(slot.start), "end": to_local_iso(slot.end)}


def _links(manage_token: str) -> dict[str, str]:
    links = links_for(hub_settings().public_url, manage_token)
    return {"manage_url": links.manage, "join_url": links.join}


def _appointment_json(appt: Appointment, manage_token: str) -> dict[str, Any]:
    return {
        "id": str(appt.id),
        "service_id": appt.service_id,
        "start": to_local_iso(appt.start),
        "end": to_local_iso(appt.end),
        "status": appt.status,
        "name": appt.name,
        "email": appt.email,
        "locale": appt.locale,
        "created_at": to_local_iso(appt.created_at),
        "cancelled_at": to_local_iso(appt.cancelled_at) if appt.cancelled_at else None,
        "hold_until": to_local_iso(appt.hold_until) if appt.hold_until else None,
        **_links(manage_token),
    }


@bp.before_request
def _known_language() -> None:
    """`?lang=` is de or en, as the document says; anything else is refused, not ignored."""
    if request.endpoint == "api.openapi":
        return
    if any(lang not in LANGUAGES for lang in request.args.getlist("lang")):
        raise ApiError("invalid_field", "lang")


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI 3.1 document of this API."""
    return jsonify(document(hub_settings().public_url))


@bp.get("/services")
@limiter.limit(read_limit)
def list_services() -> ResponseReturnValue:
    """Bookable services in the request's language."""
    lang = current_language()
    return jsonify(services=[_service_json(s, lang) for s in booking.services(store())])


@bp.get("/services/<service_id>/slots")
@limiter.limit(read_limit)
def list_slots(service_id: str) -> ResponseReturnValue:
    """Free slots of a service between two local dates (inclusive)."""
    today = local_date(now())
    first = query_date("from", today)
    last = query_date("to", first + timedelta(days=DEFAULT_RANGE_DAYS - 1))
    slots = booking.list_slots(
        store(), hub_settings().booking_policy, now(), service_id, first, last
    )
    return jsonify(service_id=service_id, slots=[_slot_json(s) for s in slots])


@bp.post("/appointments")
@limiter.limit(write_limit)
@limiter.limit(per_email_limit, key_func=email_key)
def book() -> ResponseReturnValue:
    """Book a slot; 409 with alternatives when it has just been taken."""
    body = json_body(BookingBody)
    request_ = BookingRequest(
        body.service_id, body.start, body.name, body.email, body.locale or current_language()
    )
    try:
        booked = booking.book(
            store(),
            hub_settings().booking_policy,
            now(),
            request_,
            mails(),
            hub_settings().max_open_per_email or None,
            hub_settings().hold,
        )
    except booking.SlotTaken:
        metrics().bookings.labels("slot_taken").inc()
        raise
    metrics().bookings.labels(booked.appointment.status).inc()
    appt = booked.appointment
    if appt.status == Status.HELD:
        # The secret goes only by e-mail: confirming proves the address is the booker's.
        body_json: dict[str, Any] = {
            "id": str(appt.id),
            "service_id": appt.service_id,
            "start": to_local_iso(appt.start),
            "end": to_local_iso(appt.end),
            "status": Status.HELD.value,
            "hold_until": to_local_iso(appt.hold_until) if appt.hold_until else None,
        }
    else:
        body_json = {
            **_appointment_json(appt, booked.manage_token),
            "manage_token": booked.manage_token,
        }
    response = jsonify(body_json)
    response.status_code = 201
    response.headers["Location"] = url_for("api.read", raw_id=str(appt.id))
    return response


@bp.get("/appointments/<raw_id>")
@limiter.limit(read_limit)
def read(raw_id: str) -> ResponseReturnValue:
    """The appointment that the bearer token opens."""
    token = bearer_token()
    return jsonify(_appointment_json(booking.get(store(), appointment_id(raw_id), token), token))


@bp.patch("/appointments/<raw_id>")
@limiter.limit(write_limit)
def reschedule(raw_id: str) -> ResponseReturnValue:
    """Move the appointment; the old time is kept if the new one is taken."""
    token = bearer_token()
    ident = appointment_id(raw_id)
    body = json_body(RescheduleBody)
    appt = booking.reschedule(
        store(), hub_settings().booking_policy, now(), ident, token, body.start, mails()
    )
    return jsonify(_appointment_json(appt, token))


@bp.delete("/appointments/<raw_id>")
@limiter.limit(write_limit)
def cancel(raw_id: str) -> ResponseReturnValue:
    """Cancel the appointment and free its slot."""
    token = bearer_token()
    appt = booking.cancel(store(), now(), appointment_id(raw_id), token, mails())
    return jsonify(_appointment_json(appt, token))


@bp.post("/appointments/<raw_id>/confirm")
@limiter.limit(write_limit)
def confirm(raw_id: str) -> ResponseReturnValue:
    """Confirm a held booking with the secret from the e-mail."""
    token = bearer_token()
    appt = booking.confirm(store(), now(), appointment_id(raw_id), token, mails())
    return jsonify(_appointment_json(appt, token))

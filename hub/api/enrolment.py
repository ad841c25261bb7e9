"""Enrolment of counter appliances over HTTP: a signed enrolment request with IT's token, then
challenge and short-lived access token (docs/enrolment.md); and for IT, pending appliances and
their approval by claim code. No route here uses a session cookie (appliances sign with their
key, IT sends HTTP Basic), so they are exempt from CSRF."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from flask_limiter.util import get_remote_address
from pydantic import Field

from hub.api.errors import ApiError, error_response
from hub.api.requests import json_body
from hub.context import hub_settings, now, store
from hub.fleet.enrolment import CHALLENGE_TTL, EnrolmentRefused, issue_access, read_enrolment
from hub.operations import enrolment
from hub.operations.accounts import AccountError, Staff, verify_staff
from hub.operations.enrolment import access_ttl
from hub.ratelimit import limiter, read_limit, write_limit
from hub.security import csrf
from protocol import enrolment as wire
from protocol.appliance import Device
from protocol.base import Request

bp = Blueprint("enrolment", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.errorhandler(EnrolmentRefused)
def _refused(exc: EnrolmentRefused) -> ResponseReturnValue:
    return error_response(exc.code)


def enrolment_limit() -> str:
    """Enrolment requests per client address (a batch of appliances may share one)."""
    return hub_settings().rate_limit_enrolment


def device_limit() -> str:
    """Challenge and token requests per appliance key (pending appliances poll)."""
    return hub_settings().rate_limit_device


def key_of_body() -> str:
    """The public key a challenge or token request names, else the client address."""
    data = request.get_json(silent=True) if request.is_json else None
    key = data.get("public_key") if isinstance(data, Mapping) else None
    return f"key:{key[:44]}" if isinstance(key, str) and key else get_remote_address()


@bp.post("/enrolment")
@limiter.limit(enrolment_limit)
def enrol() -> ResponseReturnValue:
    """An appliance asks to join: 202 while pending, 201 when its token pre-authorised it."""
    raw = request.get_data(cache=True)
    json_body(wire.EnrolmentRequest)  # field errors as everywhere in the API
    signed = read_enrolment(raw, request.headers.get(wire.SIGNATURE_HEADER), now())
    done = enrolment.enrol(store(), signed, now())
    answer = wire.Enrolment(
        state="approved" if done.device_id is not None else "pending",
        claim_code=done.claim_code,
        fingerprint=done.fingerprint,
        device_id=done.device_id,
    )
    return jsonify(answer.wire()), 201 if done.device_id is not None else 202


@bp.post("/device/challenge")
@limiter.limit(device_limit, key_func=key_of_body)
def challenge() -> ResponseReturnValue:
    """A challenge for the appliance to sign with its key (single use, 60 s)."""
    body = json_body(wire.ChallengeRequest)
    issued = enrolment.new_challenge(store(), body.public_key, now())
    ttl = int(CHALLENGE_TTL.total_seconds())
    return jsonify(wire.Challenge(challenge=issued, expires_in=ttl).wire())


@bp.post("/device/token")
@limiter.limit(device_limit, key_func=key_of_body)
def token() -> ResponseReturnValue:
    """An access token for an approved appliance that signed its challenge."""
    body = json_body(wire.TokenRequest)
    device, fingerprint = enrolment.redeem(store(), body, now())
    ttl = access_ttl(hub_settings().device_token_minutes)
    secret = hub_settings().effective_secret_key()
    answer = wire.AccessToken(
        access_token=issue_access(secret, device.id, fingerprint, now(), ttl),
        expires_in=int(ttl.total_seconds()),
        device=Device(id=device.id, name=device.name, counter=device.counter_id),
    )
    return jsonify(answer.wire())


# --- IT: approval over HTTP (HTTP Basic with an admin's account, as the cash office) ---


class Approval(Request):
    """POST /api/v1/fleet/approve."""

    claim_code: str = Field(min_length=6, max_length=16)
    counter: int = Field(ge=1)
    name: str = Field("", max_length=100)


def _admin() -> Staff:
    auth = request.authorization
    staff = None
    if auth is not None and auth.type == "basic" and auth.username and auth.password is not None:
        staff = verify_staff(store(), auth.username, auth.password, ("admin",))
    if staff is None:
        raise ApiError("admin_required")
    return staff


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> ResponseReturnValue:
    answer = error_response(exc.code, exc.field, **exc.extra)
    if exc.code == "admin_required":
        answer.headers["WWW-Authenticate"] = 'Basic realm="Buergeramt IT", charset="UTF-8"'
    return answer


def _key_json(key: enrolment.Key) -> dict[str, Any]:
    return {
        "claim_code": key.claim_code,
        "fingerprint": key.fingerprint,
        "hostname": key.hostname,
        "version": key.version,
        "since": key.enrolled_at.isoformat(),
        "device_id": key.device_id,
    }


@bp.get("/fleet/pending")
@limiter.limit(read_limit)
def fleet_pending() -> ResponseReturnValue:
    """The appliances waiting for approval."""
    _admin()
    return jsonify(pending=[_key_json(k) for k in enrolment.pending(store())])


@bp.post("/fleet/approve")
@limiter.limit(write_limit)
def fleet_approve() -> ResponseReturnValue:
    """Approve the pending appliance showing a claim code, for a counter."""
    staff = _admin()
    body = json_body(Approval)
    try:
        key, device_id = enrolment.approve(
            store(), body.claim_code, body.counter, body.name, f"admin:{staff.username}", now()
        )
    except enrolment.NotPending:
        raise ApiError("not_pending", "claim_code") from None
    except AccountError:
        raise ApiError("invalid_field", "counter") from None
    return jsonify({**_key_json(key), "device_id": device_id, "state": "approved"})

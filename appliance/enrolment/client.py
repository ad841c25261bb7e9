"""The hub's enrolment and token endpoints over HTTP (aiohttp): enrol with a signed request,
then a signed challenge for each short-lived access token (docs/enrolment.md)."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError

from appliance.enrolment.keys import DeviceKey
from protocol.enrolment import (
    CHALLENGE_PATH,
    ENROLMENT_PATH,
    MAX_HOSTNAME,
    MAX_VERSION,
    NONCE_MIN_BYTES,
    SIGNATURE_HEADER,
    TOKEN_PATH,
    AccessToken,
    Challenge,
    ChallengeRequest,
    Enrolment,
    EnrolmentRequest,
    TokenRequest,
    b64url,
    unb64url,
    utc_timestamp,
)

log = logging.getLogger("appliance.enrolment")
TIMEOUT = aiohttp.ClientTimeout(total=20, sock_connect=10)
Model = TypeVar("Model", bound=BaseModel)


class Refused(Exception):
    """The hub answered with an error (`code`: token_refused, revoked, pending, …)."""

    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(f"{code} ({status}): {message}" if message else f"{code} ({status})")
        self.status = status
        self.code = code
        self.message = message


class Unreachable(Exception):
    """No usable answer: the hub is away, overloaded or answered something else."""


class EnrolmentClient:
    """One appliance's key talking to one hub."""

    def __init__(self, hub_url: str, key: DeviceKey) -> None:
        self.hub_url = hub_url
        self.key = key
        self._http: aiohttp.ClientSession | None = None

    async def enrol(self, token: str, hostname: str, version: str) -> Enrolment:
        """Send the enrolment request, signed; 202 pending or 201 approved."""
        request = EnrolmentRequest(
            token=token,
            public_key=self.key.public_key,
            hostname=hostname[:MAX_HOSTNAME] or "appliance",
            version=version[:MAX_VERSION] or "0",
            nonce=b64url(os.urandom(NONCE_MIN_BYTES * 2)),
            timestamp=utc_timestamp(datetime.now(UTC)),
        )
        body = request.model_dump_json().encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: self.key.sign(body)}
        return await self._post(ENROLMENT_PATH, body, headers, Enrolment)

    async def access_token(self) -> AccessToken:
        """A challenge from the hub, signed, for a fresh access token (Refused `pending`
        while IT has not approved the key)."""
        asked = ChallengeRequest(public_key=self.key.public_key).model_dump_json().encode()
        challenge = await self._post(CHALLENGE_PATH, asked, _JSON, Challenge)
        try:
            raw = unb64url(challenge.challenge)
        except ValueError:
            raise Unreachable("the hub's challenge is not base64url") from None
        answer = TokenRequest(
            public_key=self.key.public_key,
            challenge=challenge.challenge,
            signature=self.key.sign(raw),
        )
        return await self._post(TOKEN_PATH, answer.model_dump_json().encode(), _JSON, AccessToken)

    async def _post(
        self, path: str, body: bytes, headers: dict[str, str], model: type[Model]
    ) -> Model:
        try:
            async with self._session().post(
                f"{self.hub_url}{path}", data=body, headers=headers
            ) as response:
                status = response.status
                data: Any = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise Unreachable(f"{path}: {exc or type(exc).__name__}") from None
        if status >= 500 or not isinstance(data, dict):
            raise Unreachable(f"{path}: HTTP {status}")
        if status >= 300:
            error = data.get("error")
            error = error if isinstance(error, dict) else {}
            raise Refused(status, str(error.get("code", status)), str(error.get("message", "")))
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise Unreachable(
                f"{path}: the hub's answer does not fit the protocol: {exc}"
            ) from None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._http

    async def close(self) -> None:
        """Close the HTTP connections."""
        if self._http is not None:
            await self._http.close()


_JSON = {"Content-Type": "application/json"}

"""The appliance's short-lived access token: enrol once with the token IT wrote onto the card,
wait (showing the claim code) until IT approves, then a signed challenge for each token,
renewed over the live connection at two thirds of its life (docs/enrolment.md)."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from appliance.config import ApplianceSettings
from appliance.enrolment.client import EnrolmentClient, Refused, Unreachable
from appliance.enrolment.keys import KeyStore, identity
from appliance.version import software_version
from protocol.enrolment import PENDING, REVOKED, TOKEN_REFUSED, UNKNOWN_KEY, AccessToken
from protocol.kiosk import EnrolmentState, EnrolmentView

log = logging.getLogger("appliance.enrolment")
PENDING_POLL_S = 5.0  # while IT has not approved; ± JITTER so a batch does not ask in step
JITTER = 0.2
REFUSED_RETRY_S = 60.0  # a refused token or revoked key: IT must act; ask again this seldom
BACKOFF_MAX_S = 30.0  # the hub unreachable: 1, 2, 4 … s up to this
RENEW_AT = 2 / 3  # of the token's life
RENEW_RETRY_S = 10.0
# Connection refusals that are about this appliance's software, not its token.
NOT_ABOUT_THE_TOKEN = {"unsupported_protocol", "unavailable"}

Renewer = Callable[[], Awaitable[dict[str, Any] | None]]


def keeper_for(settings: ApplianceSettings, on_change: Callable[[], None]) -> TokenKeeper | None:
    """The token keeper of an appliance that signs in with its own key (None: with the
    device credential of older setups; NoIdentity: with nothing)."""
    if identity(settings) == "credential":
        return None
    store = KeyStore(settings.key_dir)
    return TokenKeeper(settings.hub_url, store, settings.enrolment_token, on_change)


class TokenKeeper:
    """Holds this appliance's access token and tells the screen how enrolment stands."""

    def __init__(
        self,
        hub_url: str,
        store: KeyStore,
        enrolment_token: str = "",
        on_change: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.hub_url = hub_url
        self.store = store
        self.key = store.load_or_create()
        self.enrolment_token = enrolment_token
        self.client = EnrolmentClient(hub_url, self.key)
        self.on_change = on_change
        self.clock = clock
        self.state: EnrolmentState | None = None  # None: let in (or not asked yet)
        self.token: AccessToken | None = None
        self._issued_at = 0.0
        log.info("device key %s, claim code %s", self.key.fingerprint, self.key.claim_code)

    # --- what the screen shows ---

    def view(self, refused: bool = False) -> EnrolmentView | None:
        """The enrolment screen's content (None: nothing to show); `refused`: the hub closed
        or refused the live connection (a revoked key)."""
        state = "revoked" if refused and self.state is None else self.state
        if state is None:
            return None
        return EnrolmentView(
            state=state,
            claim_code=self.key.claim_code,
            fingerprint=self.key.fingerprint,
            hub=self.hub_url,
        )

    def _show(self, state: EnrolmentState | None) -> None:
        if state != self.state:
            self.state = state
            self.on_change()

    # --- the token ---

    @property
    def access_token(self) -> str:
        """The token for the connection's `auth` (empty before the first)."""
        return self.token.access_token if self.token is not None else ""

    def fresh(self) -> bool:
        """Whether the token has more than a third of its life left."""
        if self.token is None:
            return False
        return self.clock() < self._issued_at + self.token.expires_in * RENEW_AT

    def forget(self) -> None:
        """The hub refused the token: the next connection asks for a new one first."""
        self.token = None

    def refused_connection(self, code: object) -> bool:
        """The hub refused the connection with `code`: whether the token was the reason (it is
        then forgotten; the next attempt signs a new challenge)."""
        if code in NOT_ABOUT_THE_TOKEN:
            return False
        self.forget()
        return True

    def _took(self, token: AccessToken) -> None:
        self.token = token
        self._issued_at = self.clock()
        self._show(None)

    async def ready(self) -> str:
        """A fresh access token: enrolled first if need be, then waiting (the claim code on
        screen) until IT approves; a refusal stays on screen and is asked again seldom."""
        if self.fresh():
            return self.access_token
        await self._enrol()
        backoff = 1.0
        while True:
            try:
                self._took(await self.client.access_token())
                return self.access_token
            except Refused as refusal:
                if refusal.code == UNKNOWN_KEY and self.enrolment_token:
                    # The hub lost this key (its database restored from before): enrol anew.
                    self.store.forget_enrolled()
                    await self._enrol()
                    continue
                delay = self._refused(refusal)
            except Unreachable as exc:
                log.warning("no access token: %s; asking again in %.0f s", exc, backoff)
                delay, backoff = backoff, min(backoff * 2, BACKOFF_MAX_S)
            await asyncio.sleep(delay)

    async def current(self) -> str:
        """The token for a (re)connection: a fresh one by challenge if it ran out, in one try
        (a failure leaves the hub to refuse, and the link to try again)."""
        if not self.fresh() and self.state is None:
            try:
                self._took(await self.client.access_token())
            except Refused as refusal:
                self._refused(refusal)
            except Unreachable as exc:
                log.warning("no fresh access token: %s", exc)
        return self.access_token

    async def _enrol(self) -> None:
        """Send the enrolment request unless this hub took it before (the token is spent)."""
        if not self.enrolment_token or self.store.enrolled_at() == self.hub_url:
            return
        backoff = 1.0
        while True:
            try:
                answer = await self.client.enrol(
                    self.enrolment_token, socket.gethostname(), software_version()
                )
            except Refused as refusal:
                delay = self._refused(refusal)
            except Unreachable as exc:
                log.warning("enrolment not sent: %s; again in %.0f s", exc, backoff)
                delay, backoff = backoff, min(backoff * 2, BACKOFF_MAX_S)
            else:
                self.store.note_enrolled(self.hub_url)
                log.info(
                    "enrolled at %s: %s (claim code %s)",
                    self.hub_url,
                    answer.state,
                    answer.claim_code,
                )
                self._show("pending" if answer.state == "pending" else None)
                return
            await asyncio.sleep(delay)

    def _refused(self, refusal: Refused) -> float:
        """Show a refusal; how long to wait before asking again."""
        if refusal.code == PENDING:
            self._show("pending")
            return PENDING_POLL_S * random.uniform(1 - JITTER, 1 + JITTER)
        if refusal.code in (TOKEN_REFUSED, REVOKED):
            log.error(
                "the hub refused this appliance (%s): %s; asking again every %.0f s",
                refusal.code,
                "IT must write a new enrolment token (buergeramt enrol tokens create)"
                if refusal.code == TOKEN_REFUSED
                else "its key was revoked; delete the key folder to enrol anew",
                REFUSED_RETRY_S,
            )
            self._show("token_refused" if refusal.code == TOKEN_REFUSED else "revoked")
            return REFUSED_RETRY_S
        if refusal.code == UNKNOWN_KEY:
            log.error(
                "the hub does not know this appliance's key; set"
                " BUERGERAMT_APPLIANCE_ENROLMENT_TOKEN to enrol it; asking again every %.0f s",
                REFUSED_RETRY_S,
            )
            return REFUSED_RETRY_S
        # replayed, stale_timestamp, bad_signature, challenge_expired …: a new try signs anew.
        log.warning("the hub refused: %s", refusal)
        return PENDING_POLL_S

    # --- renewal over the live connection ---

    async def keep_fresh(self, renew: Renewer) -> None:
        """Renew at two thirds of the token's life: over the connection (`token_renew`), by
        challenge when that fails; until cancelled."""
        while True:
            if self.token is None:
                await asyncio.sleep(1)
                continue
            due = self._issued_at + self.token.expires_in * RENEW_AT - self.clock()
            if due > 0:
                await asyncio.sleep(min(due, 5))  # a token taken meanwhile moves the moment
                continue
            if not await self._renew(renew):
                await asyncio.sleep(RENEW_RETRY_S)

    async def _renew(self, renew: Renewer) -> bool:
        reply = await renew()
        if isinstance(reply, dict) and reply.get("ok") is True and self.token is not None:
            try:
                renewed = self.token.model_copy(
                    update={
                        "access_token": str(reply["access_token"]),
                        "expires_in": int(reply["expires_in"]),
                    }
                )
            except (KeyError, TypeError, ValueError):
                renewed = None
            if renewed is not None:
                self._took(renewed)
                return True
        try:
            self._took(await self.client.access_token())
            return True
        except Refused as refusal:
            self._refused(refusal)
        except Unreachable as exc:
            log.warning("access token not renewed: %s", exc)
        return False

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self.client.close()

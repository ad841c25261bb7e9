"""The counter's documents at the hub (the core's `Files` port), over HTTP: files never travel
through Socket.IO. Every request carries the device's credential (an enrolled appliance: its
access token) and the clerk's session, as the realtime link does (docs/documents.md)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from appliance.config import ApplianceSettings
from appliance.core.ports import HUB_UNREACHABLE, Answer, FileDownload
from protocol.documents import Documents

log = logging.getLogger("appliance.files")
TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=10)
CHUNK = 64 * 1024


class HubFiles:
    """Lists, fetches, hands over and reviews documents of the calls this counter holds."""

    def __init__(
        self,
        settings: ApplianceSettings,
        clerk_session: Callable[[], str | None],
        credential: Callable[[], str] | None = None,
    ) -> None:
        self.settings = settings
        self._clerk_session = clerk_session
        self._credential = credential or (lambda: settings.device_credential)
        self._http: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._http

    def _url(self, appointment: str, *rest: str) -> str:
        path = "/".join(("api/v1/counter/appointments", appointment, "documents", *rest))
        return f"{self.settings.hub_url}/{path}"

    def _headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self._credential()}"}
        session = self._clerk_session()
        if session:
            headers["X-Clerk-Session"] = session
        return headers

    async def _answer(self, response: aiohttp.ClientResponse) -> Answer:
        try:
            body: Any = await response.json(content_type=None)
        except (ValueError, aiohttp.ContentTypeError):
            body = {}
        if response.status < 300:
            return Answer(True, body if isinstance(body, dict) else {})
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        log.warning("hub refused a documents request (%s): %s", response.status, error)
        return Answer.refusal(
            str(error.get("code", response.status)), str(error.get("message", ""))
        )

    async def listing(self, appointment: str) -> Documents | None:
        """The files and checklist now (None when the hub cannot be asked)."""
        try:
            async with self._session().get(
                self._url(appointment), headers=self._headers()
            ) as response:
                answer = await self._answer(response)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("documents of %s not fetched: %s", appointment, exc)
            return None
        return answer.read(Documents)

    async def download(self, appointment: str, document: str) -> FileDownload | None:
        """One file, streamed (None when refused or the hub cannot be reached)."""
        try:
            response = await self._session().get(
                self._url(appointment, document, "view"), headers=self._headers()
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("document %s not fetched: %s", document, exc)
            return None
        if response.status != 200:
            response.release()
            return None

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for chunk in response.content.iter_chunked(CHUNK):
                    yield chunk
            finally:
                response.release()

        media_type = response.headers.get("Content-Type", "application/octet-stream")
        return FileDownload(name=document, media_type=media_type, chunks=chunks())

    async def upload(self, appointment: str, data: bytes, name: str, item: int | None) -> Answer:
        """Hand the citizen a file the clerk made."""
        params = {"name": name, **({"item": str(item)} if item is not None else {})}
        # The hub recognises the kind by content; the type here is only a label.
        headers = {**self._headers(), "Content-Type": "application/octet-stream"}
        try:
            async with self._session().post(
                self._url(appointment), params=params, data=data, headers=headers
            ) as response:
                return await self._answer(response)
        except (aiohttp.ClientError, TimeoutError):
            return Answer.refusal(HUB_UNREACHABLE, "no hub")

    async def review(self, appointment: str, document: str, accepted: bool, reason: str) -> Answer:
        """Accept a file, or ask for it again with a reason."""
        body = {"accepted": accepted, "reason": reason}
        try:
            async with self._session().post(
                self._url(appointment, document, "review"), json=body, headers=self._headers()
            ) as response:
                return await self._answer(response)
        except (aiohttp.ClientError, TimeoutError):
            return Answer.refusal(HUB_UNREACHABLE, "no hub")

    async def close(self) -> None:
        """Close the HTTP connections."""
        if self._http is not None:
            await self._http.close()

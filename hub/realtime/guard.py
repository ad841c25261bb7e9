"""What every Socket.IO event passes before a handler sees it: a known name, a valid payload,
the sender's rate. Refusals are answered (in the acknowledgement), counted and logged; they
never close the connection or touch anyone else's."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import current_app, request
from flask_socketio import Namespace
from pydantic import BaseModel, ValidationError

from hub.operations.calls import CallRefused

log = logging.getLogger("hub.realtime")
P = TypeVar("P", bound=BaseModel)


@dataclass
class TokenBucket:
    """At most `rate` events per second on average, `burst` at once."""

    rate: float
    burst: float
    tokens: float = -1.0
    last: float = field(default_factory=time.monotonic)

    def take(self) -> bool:
        """Spend one token if there is one."""
        now = time.monotonic()
        if self.tokens < 0:
            self.tokens = self.burst
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def refusal(code: str, message: str) -> dict[str, Any]:
    """The acknowledgement of a refused event."""
    return {"ok": False, "error": {"code": code, "message": message}}


def refuse(code: str, message: str) -> dict[str, Any]:
    """Count and log a refusal, and build its acknowledgement."""
    current_app.extensions["metrics"].refusals.labels(code).inc()
    sid = getattr(request, "sid", None)
    log.warning("refused %s (%s %s): %s", code, getattr(request, "namespace", ""), sid, message)
    return refusal(code, message)


def parse(model: type[P], data: Any) -> P:
    """Validate an event's payload (no payload counts as an empty object)."""
    return model.model_validate({} if data is None else data)


def on_error(exc: BaseException) -> dict[str, Any]:
    """Turn what a handler raised into its acknowledgement (registered for every namespace)."""
    if isinstance(exc, ValidationError):
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "payload" for e in exc.errors())
        return refuse("invalid_payload", f"invalid payload: {fields or 'not an object'}")
    if isinstance(exc, CallRefused):
        return refuse(exc.code, str(exc))
    log.exception("event handler failed", exc_info=exc)
    return refusal("internal_error", "the hub could not handle this event; try again")


class GuardedNamespace(Namespace):
    """A namespace whose handlers return acknowledgements and may raise ValidationError or
    CallRefused (see on_error); unknown events and floods are refused before any handler."""

    def __init__(self, namespace: str, bucket: Callable[[str], TokenBucket | None]) -> None:
        super().__init__(namespace)
        self._bucket = bucket

    def trigger_event(self, event: str, *args: Any) -> Any:
        """Dispatch with the checks every event gets."""
        if event in ("connect", "disconnect"):
            return super().trigger_event(event, *args)
        sid = args[0]
        if not isinstance(event, str) or not hasattr(self, f"on_{event}"):
            return self._refuse(sid, "unknown_event", f"no event {str(event)[:64]!r} here")
        bucket = self._bucket(sid)
        if bucket is None:
            return self._refuse(sid, "not_connected", "connect first")
        if not bucket.take():
            return self._refuse(sid, "rate_limited", "too many messages; slow down")
        return super().trigger_event(event, *args)

    def _refuse(self, sid: str, code: str, message: str) -> Any:
        # Run inside the same app and request context as a handler would.
        return self.socketio._handle_event(  # type: ignore[union-attr]
            lambda *_: refuse(code, message), "refused", self.namespace, sid
        )

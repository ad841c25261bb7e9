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
from flask_socketio import (  # type: ignore[attr-defined]  # re-exported; not in the stubs
    ConnectionRefusedError,
    Namespace,
)
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError

from hub.operations.calls import CallRefused
from hub.operations.payments import PaymentRequestRefused
from protocol.base import refused

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
    """The acknowledgement of a refused event (protocol.base.Refused)."""
    return refused(code, message)


class RefusalLog:
    """One log line per kind of refusal and interval: a flood of refused events is one line
    with a count, not one line each (the metric counts every refusal)."""

    def __init__(self, interval: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval, self.clock = interval, clock
        self._since: dict[str, float] = {}
        self._quiet: dict[str, int] = {}

    def log(self, code: str, where: str, message: str) -> bool:
        """Log this refusal unless its kind was logged within the interval; True if logged."""
        now = self.clock()
        since = self._since.get(code)
        if since is not None and now - since < self.interval:
            self._quiet[code] = self._quiet.get(code, 0) + 1
            return False
        self._since[code] = now
        more = self._quiet.pop(code, 0)
        tail = f" (and {more} more since the last such line)" if more else ""
        log.warning("refused %s (%s): %s%s", code, where, message, tail)
        return True


refusal_log = RefusalLog()


def refuse(code: str, message: str) -> dict[str, Any]:
    """Count and log a refusal, and build its acknowledgement."""
    current_app.extensions["metrics"].refusals.labels(code).inc()
    where = f"{getattr(request, 'namespace', '')} {getattr(request, 'sid', None)}"
    refusal_log.log(code, where, message)
    return refusal(code, message)


UNAVAILABLE = "unavailable"
UNAVAILABLE_MESSAGE = "the hub cannot check this connection right now; try again in a moment"


def parse(model: type[P], data: Any) -> P:
    """Validate an event's payload (no payload counts as an empty object)."""
    return model.model_validate({} if data is None else data)


def on_error(exc: BaseException) -> dict[str, Any]:
    """Turn what a handler raised into its acknowledgement (registered for every namespace)."""
    if isinstance(exc, ValidationError):
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "payload" for e in exc.errors())
        return refuse("invalid_payload", f"invalid payload: {fields or 'not an object'}")
    if isinstance(exc, CallRefused | PaymentRequestRefused):
        return refuse(exc.code, str(exc))
    if isinstance(exc, DBAPIError):  # the database is away: the client may retry
        return refuse(UNAVAILABLE, UNAVAILABLE_MESSAGE)
    log.exception("event handler failed", exc_info=exc)
    return refusal("internal_error", "the hub could not handle this event; try again")


def current_sid() -> str:
    """The Socket.IO connection of the event being handled."""
    sid: str = request.sid  # type: ignore[attr-defined]  # Flask-SocketIO adds it to the request
    return sid


class GuardedNamespace(Namespace):
    """A namespace whose handlers return acknowledgements and may raise ValidationError or
    CallRefused (see on_error); unknown events and floods are refused before any handler."""

    # Set by Flask-SocketIO. `socketio` as Any: handlers reach its python-socketio server and
    # _handle_event, which typeshed's stubs leave out as internal.
    socketio: Any
    namespace: str

    def __init__(self, namespace: str, bucket: Callable[[str], TokenBucket | None]) -> None:
        super().__init__(namespace)
        self._bucket = bucket

    def trigger_event(self, event: str, *args: Any) -> Any:
        """Dispatch with the checks every event gets."""
        sid = args[0]
        if event in ("connect", "disconnect"):
            # Socket.IO calls these while the client is not (or no longer) connected; a client
            # that is connected and sends them is forging an event.
            if self.socketio.server.manager.is_connected(sid, self.namespace):
                return self._refuse(sid, "reserved_event", f"a client cannot send {event!r}")
            if event == "connect":
                return self.socketio._handle_event(self._connect, event, self.namespace, *args)
            return super().trigger_event(event, *args)
        if not isinstance(event, str) or not hasattr(self, f"on_{event}"):
            return self._refuse(sid, "unknown_event", f"no event {str(event)[:64]!r} here")
        bucket = self._bucket(sid)
        if bucket is None:
            return self._refuse(sid, "not_connected", "connect first")
        if not bucket.take():
            return self._refuse(sid, "rate_limited", "too many messages; slow down")
        return super().trigger_event(event, *args)

    def _connect(self, auth: Any = None) -> Any:
        """Run on_connect, failing closed: if the identity cannot be checked (the database is
        away), the connection is refused with a code clients retry on — never accepted."""
        try:
            return self.on_connect(auth)  # type: ignore[attr-defined]  # each subclass defines it
        except ConnectionRefusedError:
            raise
        except Exception as exc:
            from hub.realtime.notices import registry

            registry().remove(current_sid())
            if isinstance(exc, DBAPIError):  # an outage, expected to pass: one line a while
                refusal_log.log(UNAVAILABLE, f"{self.namespace} connect", repr(exc)[:300])
            else:  # a bug: still refused, and shown in full
                log.exception("connect handler failed", exc_info=exc)
            current_app.extensions["metrics"].refusals.labels(UNAVAILABLE).inc()
            raise ConnectionRefusedError(
                UNAVAILABLE_MESSAGE, {"code": UNAVAILABLE, "message": UNAVAILABLE_MESSAGE}
            ) from None

    def _refuse(self, sid: str, code: str, message: str) -> Any:
        # Run inside the same app and request context as a handler would.
        return self.socketio._handle_event(
            lambda *_: refuse(code, message), "refused", self.namespace, sid
        )

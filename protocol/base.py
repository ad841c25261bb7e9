"""The two kinds of message: requests a party sends (validated strictly by the receiver) and
news the hub or appliance sends (read leniently, so a newer sender may add fields)."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field


class Request(BaseModel):
    """What a client asks: strict, no extra fields, no type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class News(BaseModel):
    """What a server tells: unknown fields are ignored (a newer hub may send more)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    def wire(self) -> dict[str, Any]:
        """The message as JSON-ready data."""
        return self.model_dump(mode="json", exclude_unset=False)

    @classmethod
    def read(cls, data: Any) -> Self:
        """Validate a received message (pydantic's ValidationError when it does not fit)."""
        return cls.model_validate(data if data is not None else {})


class Empty(Request):
    """An event that carries nothing (an empty object or no payload at all)."""


class Error(News):
    """Why a request was refused: a code from docs/protocol.md and a message for logs."""

    code: str = Field(max_length=64)
    message: str = ""


class Ok(News):
    """A request done."""

    ok: Literal[True] = True


class Refused(News):
    """A request refused."""

    ok: Literal[False] = False
    error: Error


def refused(code: str, message: str) -> dict[str, Any]:
    """A refusal, ready to send."""
    return Refused(error=Error(code=code, message=message)).wire()

"""The two kinds of message: requests a party sends (validated strictly by the receiver) and
news the hub or appliance sends (read leniently, so a newer sender may add fields)."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field


class Request(BaseModel):
    """What a client asks: strict, no extra fields, no type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _absent_not_required(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """In the JSON Schema, a field left out while null (`absent_when_null`) is not required."""
    absent = {name for name, field in model.model_fields.items() if field.exclude_if is not None}
    if "required" in schema:
        schema["required"] = [name for name in schema["required"] if name not in absent]


class News(BaseModel):
    """What a server tells: unknown fields are ignored (a newer hub may send more)."""

    # Every field is sent, defaults too, so the JSON Schema of what is sent requires them all,
    # but those declared `absent_when_null`.
    model_config = ConfigDict(
        extra="ignore",
        frozen=True,
        json_schema_serialization_defaults_required=True,
        json_schema_extra=_absent_not_required,
    )

    def wire(self) -> dict[str, Any]:
        """The message as JSON-ready data."""
        return self.model_dump(mode="json", exclude_unset=False)

    @classmethod
    def read(cls, data: Any) -> Self:
        """Validate a received message (pydantic's ValidationError when it does not fit)."""
        return cls.model_validate(data if data is not None else {})


def absent_when_null() -> Any:
    """A field that is not sent at all while it is None (wherever the model is nested)."""
    return Field(None, exclude_if=lambda value: value is None)


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

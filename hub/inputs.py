"""What citizens send to book or move an appointment, validated strictly (types are not coerced).

The JSON API's request bodies and the booking form both parse with these models, and the API's
OpenAPI document is generated from them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from hub.booking.emails import normalize_email
from hub.booking.names import MAX_NAME_LENGTH, normalize_name
from hub.booking.timezone import in_calendar

SERVICE_ID = r"^[a-z0-9][a-z0-9-]{0,63}$"


def _in_calendar(value: datetime) -> datetime:
    # Far-off instants overflow the slot arithmetic (start + duration, local days).
    if not in_calendar(value.date()):
        raise ValueError("must lie between the years 2000 and 2999")
    return value


def _email(value: str) -> str:
    # One spelling per address: one count for the per-address limits (hub.booking.emails).
    return normalize_email(value)


# What names are made of, in one spelling (hub.booking.names); the bound spares the rule
# from reading a whole body's worth of characters.
Name = Annotated[
    str,
    StringConstraints(max_length=1000),
    AfterValidator(normalize_name),
    Field(
        json_schema_extra={
            "maxLength": MAX_NAME_LENGTH,
            "description": "As the name is written: letters, combining marks, spaces, hyphens, "
            "apostrophes and dots (ending abbreviations); no digits; NFC; 422 invalid_name else",
        }
    ),
]
Start = Annotated[AwareDatetime, AfterValidator(_in_calendar)]
Email = Annotated[str, StringConstraints(max_length=254), AfterValidator(_email)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class BookingBody(_Body):
    """POST /api/v1/appointments."""

    service_id: Annotated[str, StringConstraints(pattern=SERVICE_ID)]
    start: Start
    name: Name
    email: Email
    locale: Literal["de", "en"] | None = None


class RescheduleBody(_Body):
    """PATCH /api/v1/appointments/{id}."""

    start: Start

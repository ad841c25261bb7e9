"""What the kiosk page may ask of the appliance, validated on receipt (strict: no extra
fields, no coercion). Each message is `{"id": n, "cmd": name, ...arguments}`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
Appointment = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]
MAX_NOTES = 4000  # as the hub accepts


class Command(BaseModel):
    """Every command carries its request id."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    id: int = Field(ge=0, le=2**53)


class SignIn(Command):
    cmd: Literal["sign_in"]
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    pin: str = Field(max_length=16)


class Unlock(Command):
    cmd: Literal["unlock"]
    pin: str = Field(max_length=16)


class Plain(Command):
    cmd: Literal["lock", "sign_out", "activity"]


class OnAppointment(Command):
    cmd: Literal["admit", "hang_up", "no_show"]
    appointment: Appointment


class Record(Command):
    cmd: Literal["record"]
    appointment: Appointment
    outcome: Literal["done", "follow_up", "no_show"]
    notes: str = Field("", max_length=MAX_NOTES)


class Notes(Command):
    cmd: Literal["notes"]
    appointment: Appointment
    notes: str = Field(max_length=MAX_NOTES)


class Send(Command):
    cmd: Literal["send"]
    kind: Literal["camera", "microphone"]
    on: bool


AnyCommand = Annotated[
    SignIn | Unlock | Plain | OnAppointment | Record | Notes | Send, Field(discriminator="cmd")
]

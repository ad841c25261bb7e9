"""Payloads of the events clients send, validated on receipt (docs/protocol.md lists them)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

# A session description of a two-track call runs to 5-10 KB; 64 KB leaves room and no more.
MAX_SDP = 64 * 1024
MAX_MESSAGE_BYTES = 96 * 1024  # the Engine.IO message limit: refused before any handler runs

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
AppointmentId = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]


class Payload(BaseModel):
    """Strict: no extra fields, no type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Candidate(Payload):
    """An ICE candidate as RTCIceCandidate.toJSON() gives it (WebRTC's field names)."""

    candidate: str = Field(max_length=1024)
    sdpMid: str | None = Field(None, max_length=64)
    sdpMLineIndex: int | None = Field(None, ge=0, le=64)
    usernameFragment: str | None = Field(None, max_length=256)


class Signal(Payload):
    """Offer, answer (with `sdp`) or a trickled candidate (`candidate`; null: no more)."""

    type: Literal["offer", "answer", "candidate"]
    sdp: str | None = Field(None, max_length=MAX_SDP)
    candidate: Candidate | None = None

    @model_validator(mode="after")
    def _matching_fields(self) -> Signal:
        if self.type == "candidate":
            if self.sdp is not None:
                raise ValueError("a candidate carries no sdp")
        elif not self.sdp or self.candidate is not None:
            raise ValueError(f"an {self.type} carries an sdp and no candidate")
        return self

    def relayed(self) -> dict[str, object]:
        """The message as the other party receives it."""
        message = self.model_dump(exclude_none=True)
        if self.type == "candidate":
            message.setdefault("candidate", None)  # null: the sender has no more candidates
        return message


class ApplianceSignal(Signal):
    """A signal from an appliance names the call it belongs to."""

    appointment: AppointmentId

    def relayed(self) -> dict[str, object]:
        """The citizen's page needs no appointment id: it is in one call only."""
        message = super().relayed()
        del message["appointment"]
        return message


class Media(Payload):
    """How a party's peer connection stands."""

    state: Literal["connected", "disconnected"]


class ApplianceMedia(Media):
    """Media state of an appliance's call."""

    appointment: AppointmentId


class CallRef(Payload):
    """Names a call (admit)."""

    appointment: AppointmentId


MAX_NOTES = 4000


class End(CallRef):
    """The clerk ends a call: done, needs follow-up, or the citizen never came."""

    outcome: Literal["done", "follow_up", "no_show"]


class Record(CallRef):
    """After hanging up: the outcome the clerk chose, and their notes."""

    outcome: Literal["done", "follow_up", "no_show"]
    notes: str = Field("", max_length=MAX_NOTES)


class SignIn(Payload):
    """A clerk signing in at the appliance."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Empty(Payload):
    """An event that carries nothing (an empty object or no payload at all)."""

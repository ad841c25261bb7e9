"""WebRTC signalling as relayed by the hub: offers, answers, trickled candidates, media state,
and the ICE servers a party gets for its call."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from protocol.base import News, Request, absent_when_null
from protocol.limits import MAX_CANDIDATE, MAX_SDP, AppointmentId
from protocol.vocabulary import CallStateName, MediaState


class Candidate(Request):
    """An ICE candidate as RTCIceCandidate.toJSON() gives it (WebRTC's field names)."""

    candidate: str = Field(max_length=MAX_CANDIDATE)
    sdpMid: str | None = Field(None, max_length=64)
    sdpMLineIndex: int | None = Field(None, ge=0, le=64)
    usernameFragment: str | None = Field(None, max_length=256)


class Signal(Request):
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

    def relayed(self) -> dict[str, Any]:
        """The message as the other party receives it."""
        message = self.model_dump(exclude_none=True)
        if self.type == "candidate":
            message.setdefault("candidate", None)  # null: the sender has no more candidates
        return message


class ApplianceSignal(Signal):
    """A signal to or from an appliance names the call it belongs to. An answer names the
    offer it answers (the session id of the offer's `o=` line): a page that offered twice in
    quick succession (reconnected, and told the appliance is back) takes only the answer to
    its latest offer."""

    appointment: AppointmentId
    offer: str | None = Field(None, pattern=r"^[0-9]{1,32}$")

    @model_validator(mode="after")
    def _offer_of_an_answer(self) -> ApplianceSignal:
        if self.offer is not None and self.type != "answer":
            raise ValueError("only an answer names the offer it answers")
        return self

    def relayed(self) -> dict[str, Any]:
        """The citizen's page needs no appointment id: it is in one call only."""
        message = super().relayed()
        del message["appointment"]
        return message


class Media(Request):
    """How a party's peer connection stands; when connected, optionally which way its media
    takes: through the TURN server (`relayed`) or not (`direct`), for the statistics."""

    state: MediaState
    path: Literal["direct", "relayed"] | None = None


class ApplianceMedia(Media):
    """Media state of an appliance's call."""

    appointment: AppointmentId


class MediaRecorded(News):
    """`media` done: where the call stands now."""

    ok: Literal[True] = True
    state: CallStateName


class IceServer(News):
    """An RTCIceServer dictionary (TURN with credentials that expire; STUN has none)."""

    urls: list[str]
    username: str | None = absent_when_null()
    credential: str | None = absent_when_null()


def offer_session(sdp: str) -> str | None:
    """The session id of an offer's `o=` line (RFC 8866), which names that offer."""
    for line in sdp.splitlines():
        if line.startswith("o="):
            fields = line[2:].split()
            if len(fields) > 1 and fields[1].isdigit() and len(fields[1]) <= 32:
                return fields[1]
            return None
    return None

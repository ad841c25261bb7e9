"""An answer names the offer it answers, so a page that offered twice in quick succession
takes only the answer to its latest offer (the race behind a call that did not come back
after a hub restart: the first answer was applied to the second connection)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from protocol.signalling import ApplianceSignal, offer_session

APPOINTMENT = "0e6d1291-f2d5-441d-b275-4b564678f64a"
CHROME_OFFER = (
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
)


def test_the_offer_s_session_id_is_read_from_its_origin_line():
    assert offer_session(CHROME_OFFER) == "4611731400430051336"
    assert offer_session(CHROME_OFFER.replace("4611731400430051336", "77")) == "77"
    assert offer_session("v=0\r\ns=-\r\n") is None
    assert offer_session("v=0\r\no=- abc 2 IN IP4 127.0.0.1\r\n") is None


def test_an_answer_carries_the_offer_to_the_page():
    answer = ApplianceSignal(
        appointment=APPOINTMENT, type="answer", sdp="v=0\r\n", offer="4611731400430051336"
    )
    assert answer.relayed() == {"type": "answer", "sdp": "v=0\r\n", "offer": "4611731400430051336"}
    # Older answers without it still read, and say nothing about it.
    assert (
        "offer"
        not in ApplianceSignal(appointment=APPOINTMENT, type="answer", sdp="v=0\r\n").relayed()
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "candidate", "candidate": None, "offer": "1"},
        {"type": "offer", "sdp": "v=0\r\n", "offer": "1"},
        {"type": "answer", "sdp": "v=0\r\n", "offer": "12ab"},
        {"type": "answer", "sdp": "v=0\r\n", "offer": "1" * 33},
        {"type": "answer", "sdp": "v=0\r\n", "offer": 12},
    ],
)
def test_only_an_answer_names_an_offer_by_its_digits(fields):
    with pytest.raises(ValidationError):
        ApplianceSignal.model_validate({"appointment": APPOINTMENT, **fields})

"""Enrolment rules and the shared wire helpers: fingerprints, claim codes, durations, access
tokens, and the enrolment body parser under arbitrary input."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.fleet.enrolment import (
    EnrolmentRefused,
    issue_access,
    parse_duration,
    read_enrolment,
    token_usable,
)
from protocol import enrolment as wire

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()
RAW = wire.public_key_raw(KEY)


def signed(**changes):
    fields = {
        "token": "t" * 43,
        "public_key": wire.b64url(RAW),
        "hostname": "pi",
        "version": "1.0",
        "nonce": wire.b64url(os.urandom(16)),
        "timestamp": wire.utc_timestamp(NOW),
        **changes,
    }
    return wire.signed_enrolment(KEY, wire.EnrolmentRequest(**fields))


def test_fingerprint_and_claim_code_follow_sha256():
    digest = hashlib.sha256(RAW).digest()
    assert wire.fingerprint(RAW).replace(" ", "") == digest.hex()[:32]
    assert len(wire.fingerprint(RAW)) == 39
    code = wire.claim_code(RAW)
    bits = "".join(f"{wire.CROCKFORD.index(c):05b}" for c in code.replace("-", ""))
    assert bits == f"{int.from_bytes(digest[:4], 'big'):032b}"[:30]
    assert code[3] == "-" and wire.normalise_claim_code(code.lower().replace("-", "")) == code


def test_claim_code_of_a_known_key():
    raw = bytes(range(32))
    bits = int.from_bytes(hashlib.sha256(raw).digest()[:4], "big") >> 2
    expected = "".join(wire.CROCKFORD[(bits >> s) & 31] for s in (25, 20, 15, 10, 5, 0))
    assert wire.claim_code(raw) == f"{expected[:3]}-{expected[3:]}"
    assert wire.normalise_claim_code("o1l-iab") == "011-1AB"


def test_b64url_round_trip_and_refusals():
    for n in (0, 1, 16, 32, 64):
        data = os.urandom(n)
        assert wire.unb64url(wire.b64url(data)) == data and "=" not in wire.b64url(data)
    for bad in ("a+b/", "é", "abc$"):
        with pytest.raises(ValueError):
            wire.unb64url(bad)


def test_a_signed_request_reads_back_and_any_change_breaks_it():
    body, signature = signed()
    assert read_enrolment(body, signature, NOW + timedelta(minutes=4)).hostname == "pi"
    with pytest.raises(EnrolmentRefused) as refused:
        read_enrolment(body.replace(b'"pi"', b'"p1"'), signature, NOW)
    assert refused.value.code == "bad_signature"
    with pytest.raises(EnrolmentRefused) as refused:
        read_enrolment(body, signature, NOW + timedelta(minutes=5, seconds=1))
    assert refused.value.code == "stale_timestamp"


def test_nonce_and_key_lengths_are_checked():
    with pytest.raises(ValueError):
        signed(nonce=wire.b64url(os.urandom(15)))
    with pytest.raises(ValueError):
        signed(public_key=wire.b64url(os.urandom(33)))
    canonical = wire.b64url(RAW)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    other_spelling = canonical[:-1] + alphabet[alphabet.index(canonical[-1]) ^ 1]
    assert wire.unb64url(other_spelling) == RAW
    with pytest.raises(ValueError):
        signed(public_key=other_spelling)  # the same 32 bytes, spelt with a stray low bit
    with pytest.raises(ValueError):
        signed(timestamp="2026-03-02T08:00:00")  # no offset


def test_durations():
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration(" 2w") == timedelta(weeks=2)
    for bad in ("", "7", "0d", "-1d", "7 days", "1y"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_token_rules():
    later = NOW + timedelta(days=1)
    assert token_usable(later, None, False, NOW)
    assert token_usable(later, 1, False, NOW)
    assert not token_usable(later, 0, False, NOW)
    assert not token_usable(later, None, True, NOW)
    assert not token_usable(NOW, None, False, NOW)


def test_access_tokens_are_the_hubs_and_expire():
    from hub.fleet.enrolment import read_access

    token = issue_access("secret", 7, wire.fingerprint(RAW), NOW, timedelta(minutes=15))
    access = read_access("secret", token, NOW + timedelta(minutes=14))
    assert access is not None and (access.device_id, access.fingerprint) == (
        7,
        wire.fingerprint(RAW),
    )
    assert read_access("secret", token, NOW + timedelta(minutes=15)) is None
    assert read_access("other", token, NOW) is None
    forged = token.replace("7.", "8.", 1)
    assert read_access("secret", forged, NOW) is None
    for junk in (None, 7, "", "a.b.c.d", "1.2.3", "x" * 500):
        assert read_access("secret", junk, NOW) is None


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=600), signature=st.one_of(st.none(), st.text(max_size=100)))
def test_the_enrolment_parser_refuses_any_bytes_with_a_code(body, signature):
    try:
        read_enrolment(body, signature, NOW)
    except EnrolmentRefused as refused:
        assert refused.code in {"invalid_body", "bad_signature", "stale_timestamp"}


@settings(max_examples=200, deadline=None)
@given(
    fields=st.fixed_dictionaries(
        {},
        optional={
            "token": st.text(max_size=200),
            "public_key": st.text(max_size=50),
            "hostname": st.one_of(st.text(max_size=80), st.integers()),
            "version": st.text(max_size=40),
            "nonce": st.text(max_size=100),
            "timestamp": st.text(max_size=40),
            "extra": st.booleans(),
        },
    )
)
def test_the_enrolment_parser_refuses_odd_json_with_a_code(fields):
    import json

    body = json.dumps(fields).encode()
    with pytest.raises(EnrolmentRefused):
        read_enrolment(body, wire.sign(KEY, body), NOW)

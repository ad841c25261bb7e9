"""The appliance's own key: made once in a private folder, refused when others could read it,
and what IT sees of it (fingerprint, claim code) stable across restarts."""

from __future__ import annotations

import os
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from appliance.config import ApplianceSettings
from appliance.enrolment.keys import KEY_FILE, KeyFileRefused, KeyStore, NoIdentity, identity
from protocol.enrolment import (
    CROCKFORD,
    EnrolmentRequest,
    claim_code,
    fingerprint,
    signed_enrolment,
    unb64url,
    verify,
)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_key_is_made_once_private_and_reloads_as_the_same_key(tmp_path):
    folder = tmp_path / "keys"
    first = KeyStore(folder).load_or_create()
    assert mode(folder) == 0o700
    assert mode(folder / KEY_FILE) == 0o600
    again = KeyStore(folder).load_or_create()
    assert again.raw == first.raw
    assert again.fingerprint == first.fingerprint
    assert again.claim_code == first.claim_code
    assert [p.name for p in folder.iterdir()] == [KEY_FILE]  # no temporary file left behind


def test_the_write_is_atomic_a_failed_write_leaves_no_key(tmp_path, monkeypatch):
    folder = tmp_path / "keys"

    def power_cut(fd: int) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "fsync", power_cut)
    with pytest.raises(OSError, match="disk gone"):
        KeyStore(folder).load_or_create()
    assert list(folder.iterdir()) == []  # neither a half key nor its temporary file


def test_a_key_file_others_can_read_is_refused_with_what_to_do(tmp_path):
    store = KeyStore(tmp_path / "keys")
    store.load_or_create()
    store.key_file.chmod(0o644)
    with pytest.raises(KeyFileRefused, match=r"readable by others \(mode 0644\).*chmod 600"):
        store.load_or_create()


def test_a_key_folder_open_to_others_is_refused(tmp_path):
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    with pytest.raises(KeyFileRefused, match="chmod 700"):
        KeyStore(folder).load_or_create()


def test_a_corrupt_key_file_is_refused_not_replaced(tmp_path):
    store = KeyStore(tmp_path / "keys")
    store.load_or_create()
    store.key_file.write_bytes(b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KeyFileRefused, match="not a readable key"):
        store.load_or_create()
    assert b"garbage" in store.key_file.read_bytes()  # kept for whoever looks into it


def test_signatures_verify_with_the_public_key_on_the_wire(tmp_path):
    key = KeyStore(tmp_path / "keys").load_or_create()
    public = Ed25519PublicKey.from_public_bytes(unb64url(key.public_key))
    public.verify(unb64url(key.sign(b"challenge bytes")), b"challenge bytes")  # raises if not
    request = EnrolmentRequest(
        token="t" * 20,
        public_key=key.public_key,
        hostname="counter-1",
        version="1.0",
        nonce="A" * 43,
        timestamp="2026-11-30T16:00:00Z",
    )
    body, signature = signed_enrolment(key.private, request)
    assert verify(key.public_key, key.sign(body), body)
    assert verify(key.public_key, signature, body)
    assert not verify(key.public_key, signature, body + b" ")


def test_fingerprint_and_claim_code_have_their_fixed_form(tmp_path):
    key = KeyStore(tmp_path / "keys").load_or_create()
    groups = key.fingerprint.split(" ")
    assert len(groups) == 8 and all(len(g) == 4 for g in groups)
    assert len(key.public_key) == 43  # 32 bytes, base64url without padding
    code = key.claim_code
    assert len(code) == 7 and code[3] == "-"
    assert all(c in CROCKFORD for c in code.replace("-", ""))


def test_the_enrolled_note_remembers_the_hub(tmp_path):
    store = KeyStore(tmp_path / "keys")
    store.load_or_create()
    assert store.enrolled_at() is None
    store.note_enrolled("http://hub.example:5000")
    assert KeyStore(tmp_path / "keys").enrolled_at() == "http://hub.example:5000"
    assert mode(store.folder / "enrolled.json") == 0o600


def test_fingerprint_and_claim_code_of_a_known_key_never_change():
    # SHA-256 of bytes 0..31 begins 630dcd29: its first 30 bits in Crockford base32 are
    # 01100 01100 00110 11100 11010 01010 = C C 6 W T A.
    raw = bytes(range(32))
    assert fingerprint(raw) == "630d cd29 66c4 3366 9112 5448 bbb2 5b4f"
    assert claim_code(raw) == "CC6-WTA"


def test_an_appliance_signs_in_by_key_when_it_has_one_else_by_credential_else_not_at_all(
    tmp_path,
):
    keys = tmp_path / "keys"
    nothing = ApplianceSettings(key_dir=keys)
    with pytest.raises(NoIdentity, match="BUERGERAMT_APPLIANCE_ENROLMENT_TOKEN"):
        identity(nothing)
    assert identity(ApplianceSettings(key_dir=keys, device_credential="old")) == "credential"
    assert identity(ApplianceSettings(key_dir=keys, enrolment_token="t")) == "key"
    KeyStore(keys).load_or_create()  # enrolled before: the key wins over an old credential
    assert identity(ApplianceSettings(key_dir=keys, device_credential="old")) == "key"

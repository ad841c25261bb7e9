"""Encryption at rest: a key per file, wrapped by the hub's secret; records that cannot be moved,
reordered, cut short or extended unnoticed."""

from __future__ import annotations

import io
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.documents import crypto


def sealed(data: bytes, key: bytes, file_id: uuid.UUID, chunk: int = 1000) -> list[bytes]:
    pairs = crypto.read_chunks(io.BytesIO(data), chunk)
    return [crypto.seal(key, file_id, i, c, last=last) for i, (c, last) in enumerate(pairs)]


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=5000), st.integers(1, 1500))
def test_what_is_sealed_in_records_comes_back_whole(data, chunk):
    key, file_id = crypto.new_file_key(), uuid.uuid4()
    records = sealed(data, key, file_id, chunk)
    assert len(records) == max(1, -(-len(data) // chunk))
    assert b"".join(crypto.decrypt(key, file_id, records)) == data


def test_a_file_key_unwraps_only_with_the_same_secret_and_for_the_same_file():
    key, file_id = crypto.new_file_key(), uuid.uuid4()
    wrapping = crypto.wrapping_key("the hub's secret")
    wrapped = crypto.wrap(wrapping, key, file_id)
    assert key not in wrapped
    assert crypto.unwrap(crypto.wrapping_key("the hub's secret"), wrapped, file_id) == key
    with pytest.raises(crypto.Undecryptable):
        crypto.unwrap(crypto.wrapping_key("another secret"), wrapped, file_id)
    with pytest.raises(crypto.Undecryptable):
        crypto.unwrap(wrapping, wrapped, uuid.uuid4())


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda r: r[:-1], id="cut short"),
        pytest.param(lambda r: [r[1], r[0], *r[2:]], id="reordered"),
        pytest.param(lambda r: [*r, r[-1]], id="extended"),
        pytest.param(lambda r: [r[0][:-1] + bytes([r[0][-1] ^ 1]), *r[1:]], id="bit flipped"),
        pytest.param(lambda r: [crypto.LAST + r[0][1:], *r[1:]], id="flag changed"),
    ],
)
def test_tampered_records_do_not_decrypt(tamper):
    key, file_id = crypto.new_file_key(), uuid.uuid4()
    records = sealed(b"x" * 3500, key, file_id)
    with pytest.raises(crypto.Undecryptable):
        b"".join(crypto.decrypt(key, file_id, tamper(records)))


def test_records_of_one_file_do_not_decrypt_as_another():
    key = crypto.new_file_key()
    records = sealed(b"certificate", key, uuid.uuid4())
    with pytest.raises(crypto.Undecryptable):
        b"".join(crypto.decrypt(key, uuid.uuid4(), records))


def test_every_record_has_its_own_nonce():
    key, file_id = crypto.new_file_key(), uuid.uuid4()
    once = crypto.seal(key, file_id, 0, b"same", last=True)
    again = crypto.seal(key, file_id, 0, b"same", last=True)
    assert once != again and len(once) == 4 + crypto.OVERHEAD

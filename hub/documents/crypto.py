"""Encryption at rest: every file gets its own AES-256-GCM key, kept wrapped by a key derived
from the hub's secret (HKDF-SHA256). Files are sealed in records of at most CHUNK bytes, so they
stream in and out with bounded memory.

A record is `flag (1 byte) | nonce (12) | ciphertext and tag`. The flag says whether it is the
file's last record; the associated data binds the file's id, the record's index and that flag,
so a record moved to another file or place, a reordering, a truncation or anything appended
after the last record fails to decrypt.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CHUNK = 256 * 1024
NONCE = 12
TAG = 16
OVERHEAD = 1 + NONCE + TAG
LAST, MORE = b"\x01", b"\x00"
# The first byte of a wrapped key names how it was wrapped; a future scheme gets 2.
WRAP_V1 = b"\x01"
WRAP_INFO = b"buergeramt-virtuell documents: key wrapping v1"


class Undecryptable(Exception):
    """A stored file or key does not decrypt: changed, cut short, reordered, or wrapped under
    another secret key."""


def wrapping_key(secret: str) -> bytes:
    """The 256-bit key that wraps file keys, derived from the hub's secret key."""
    hkdf = HKDF(algorithm=SHA256(), length=32, salt=b"documents", info=WRAP_INFO)
    return hkdf.derive(secret.encode())


def new_file_key() -> bytes:
    """A fresh random AES-256 key for one file."""
    return AESGCM.generate_key(bit_length=256)


def wrap(wrapping: bytes, key: bytes, file_id: uuid.UUID) -> bytes:
    """`key` encrypted under `wrapping`, bound to the file it belongs to."""
    nonce = os.urandom(NONCE)
    return WRAP_V1 + nonce + AESGCM(wrapping).encrypt(nonce, key, WRAP_V1 + file_id.bytes)


def unwrap(wrapping: bytes, wrapped: bytes, file_id: uuid.UUID) -> bytes:
    """The file key inside `wrapped`; Undecryptable under another secret or for another file."""
    if wrapped[:1] != WRAP_V1:
        raise Undecryptable(f"unknown key wrapping {wrapped[:1]!r}")
    nonce, sealed = wrapped[1 : 1 + NONCE], wrapped[1 + NONCE :]
    try:
        return AESGCM(wrapping).decrypt(nonce, sealed, WRAP_V1 + file_id.bytes)
    except InvalidTag:
        raise Undecryptable(f"the key of {file_id} does not unwrap") from None


def _aad(file_id: uuid.UUID, index: int, flag: bytes) -> bytes:
    return file_id.bytes + index.to_bytes(8, "big") + flag


def seal(key: bytes, file_id: uuid.UUID, index: int, data: bytes, *, last: bool) -> bytes:
    """Record number `index` of a file, holding `data`."""
    flag = LAST if last else MORE
    nonce = os.urandom(NONCE)  # random, not a counter: a retried write may reuse an index
    return flag + nonce + AESGCM(key).encrypt(nonce, data, _aad(file_id, index, flag))


def unseal(key: bytes, file_id: uuid.UUID, index: int, record: bytes) -> tuple[bytes, bool]:
    """The data of record `index` and whether it is the last one."""
    flag, nonce, sealed = record[:1], record[1 : 1 + NONCE], record[1 + NONCE :]
    if flag not in (LAST, MORE):
        raise Undecryptable(f"record {index} of {file_id} has no valid flag")
    try:
        data = AESGCM(key).decrypt(nonce, sealed, _aad(file_id, index, flag))
    except InvalidTag:
        raise Undecryptable(f"record {index} of {file_id} does not decrypt") from None
    return data, flag == LAST


def decrypt(key: bytes, file_id: uuid.UUID, records: Iterable[bytes]) -> Iterator[bytes]:
    """The plaintext of a file's records, in order; Undecryptable when they were tampered
    with, including a file cut short (no last record) or extended past its last record."""
    ended = False
    for index, record in enumerate(records):
        if ended:
            raise Undecryptable(f"{file_id} continues after its last record")
        data, ended = unseal(key, file_id, index, record)
        yield data
    if not ended:
        raise Undecryptable(f"{file_id} ends before its last record")


def read_chunks(file: BinaryIO, size: int = CHUNK) -> Iterator[tuple[bytes, bool]]:
    """(chunk, is_last) pairs of an open file, reading one chunk ahead; an empty file gives one
    empty last chunk, so every file has a last record."""
    chunk = file.read(size)
    while True:
        following = file.read(size)
        yield chunk, not following
        if not following:
            return
        chunk = following


def encrypt_file(key: bytes, file_id: uuid.UUID, path: Path) -> Iterator[bytes]:
    """The records of the file at `path`, read and sealed one chunk at a time."""
    with path.open("rb") as file:
        for index, (chunk, last) in enumerate(read_chunks(file)):
            yield seal(key, file_id, index, chunk, last=last)

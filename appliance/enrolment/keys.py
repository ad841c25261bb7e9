"""The appliance's own Ed25519 key: made on first start in its key folder, read from there
afterwards, never sent anywhere (only its public half and signatures leave the device)."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from appliance.config import ApplianceSettings
from protocol.enrolment import b64url, claim_code, fingerprint, public_key_raw, sign

KEY_FILE = "device.key"  # PKCS#8 PEM, mode 0600
ENROLLED_FILE = "enrolled.json"  # the hub took the enrolment request (the token is spent)
FOLDER_MODE = 0o700
FILE_MODE = 0o600


class KeyFileRefused(RuntimeError):
    """The key folder or file is unsafe or unreadable; the message says what to do."""


class NoIdentity(RuntimeError):
    """Neither an enrolment token, nor a key made before, nor a device credential."""

    def __init__(self, key_dir: Path) -> None:
        super().__init__(
            "the appliance has no way to sign in at the hub: set"
            " BUERGERAMT_APPLIANCE_ENROLMENT_TOKEN (buergeramt enrol tokens create) to enrol it,"
            f" or point BUERGERAMT_APPLIANCE_KEY_DIR at its enrolled key (now {key_dir}, which"
            " holds none); older setups: BUERGERAMT_APPLIANCE_DEVICE_CREDENTIAL"
            " (buergeramt devices add)"
        )


def identity(settings: ApplianceSettings) -> Literal["key", "credential"]:
    """How this appliance signs in: its own key (an enrolment token given, or a key in the
    folder from before; it wins over an old credential) or the device credential."""
    try:
        has_key = KeyStore(settings.key_dir).exists()
    except OSError:  # a folder this user may not look into holds no key of its
        has_key = False
    if settings.enrolment_token or has_key:
        return "key"
    if settings.device_credential:
        return "credential"
    raise NoIdentity(settings.key_dir)


@dataclass(frozen=True)
class DeviceKey:
    """The key pair and what people and the hub see of it."""

    private: Ed25519PrivateKey

    @property
    def raw(self) -> bytes:
        """The public key's 32 raw bytes."""
        return public_key_raw(self.private)

    @property
    def public_key(self) -> str:
        """The public key as it travels: base64url without padding."""
        return b64url(self.raw)

    @property
    def fingerprint(self) -> str:
        """ "1a2b 3c4d …": what IT compares on the hub's page."""
        return fingerprint(self.raw)

    @property
    def claim_code(self) -> str:
        """ "K7P-4QX": the short code the kiosk shows while pending."""
        return claim_code(self.raw)

    def sign(self, data: bytes) -> str:
        """A base64url signature of `data`."""
        return sign(self.private, data)


class KeyStore:
    """One key folder: the private key and a note that the enrolment request was taken."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.key_file = folder / KEY_FILE

    def exists(self) -> bool:
        """Whether a key was made here before."""
        return self.key_file.exists()

    def load_or_create(self) -> DeviceKey:
        """The key in the folder, made (atomically, 0600 in a 0700 folder) if there is none."""
        self._folder()
        if self.key_file.exists():
            return self.load()
        key = DeviceKey(Ed25519PrivateKey.generate())
        pem = key.private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        _write_atomically(self.key_file, pem)
        return key

    def load(self) -> DeviceKey:
        """The key in the folder; refused when others could read it or it is not a key."""
        mode = stat.S_IMODE(self.key_file.stat().st_mode)
        if mode & 0o077:
            raise KeyFileRefused(
                f"{self.key_file} is readable by others (mode {mode:04o}); the key may have"
                f" leaked: delete the folder {self.folder} and enrol the appliance anew, or, if"
                f" you are sure it did not, chmod 600 {self.key_file}"
            )
        try:
            private = load_pem_private_key(self.key_file.read_bytes(), password=None)
        except ValueError as exc:
            raise KeyFileRefused(
                f"{self.key_file} is not a readable key ({exc}); delete it and enrol the"
                " appliance anew (IT approves the new claim code)"
            ) from None
        if not isinstance(private, Ed25519PrivateKey):
            raise KeyFileRefused(f"{self.key_file} holds no Ed25519 key; delete it and enrol anew")
        return DeviceKey(private)

    def enrolled_at(self) -> str | None:
        """The hub that took this key's enrolment request (None: not yet sent)."""
        try:
            note = json.loads((self.folder / ENROLLED_FILE).read_text())
        except (OSError, ValueError):
            return None
        hub = note.get("hub") if isinstance(note, dict) else None
        return hub if isinstance(hub, str) else None

    def note_enrolled(self, hub: str) -> None:
        """Remember that `hub` took the request: a restart asks for tokens, not again."""
        _write_atomically(self.folder / ENROLLED_FILE, json.dumps({"hub": hub}).encode())

    def forget_enrolled(self) -> None:
        """The hub no longer knows the key: the next start enrols again."""
        (self.folder / ENROLLED_FILE).unlink(missing_ok=True)

    def _folder(self) -> None:
        self.folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        mode = stat.S_IMODE(self.folder.stat().st_mode)
        if mode & 0o077:
            raise KeyFileRefused(
                f"the key folder {self.folder} is open to others (mode {mode:04o});"
                f" chmod 700 {self.folder}"
            )


def _write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a 0600 file beside `path`, flush it to disk, then rename it over."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # the rename itself survives a power cut
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

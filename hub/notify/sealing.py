"""Sealing secrets that must be stored but must not be readable from the database alone."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken


class Sealer:
    """Authenticated encryption (Fernet) keyed by the hub's secret key."""

    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("a secret key is needed to seal tokens")
        key = hashlib.sha256(b"buergeramt-seal:" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, text: str) -> str:
        """Encrypt `text`."""
        return self._fernet.encrypt(text.encode()).decode()

    def unseal(self, sealed: str) -> str:
        """Decrypt; raises ValueError when the data was not sealed with this key."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ValueError("sealed with another key, or damaged") from None

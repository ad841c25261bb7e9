"""Sealed tokens: readable with the hub's key only."""

import pytest

from hub.notify.sealing import Sealer


def test_round_trip_and_wrong_key():
    sealed = Sealer("key-one").seal("secret-token")
    assert "secret-token" not in sealed
    assert Sealer("key-one").unseal(sealed) == "secret-token"
    with pytest.raises(ValueError, match="another key"):
        Sealer("key-two").unseal(sealed)
    with pytest.raises(ValueError, match="secret key"):
        Sealer("")

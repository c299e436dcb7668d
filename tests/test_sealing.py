"""SECRETS_KEY: the first key seals, every key opens, so a key is rotated without a moment in
which stored tokens cannot be read; a foreign or changed ciphertext is refused."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from storage.sealing import Sealer, SealingKeyError, UnsealError


def test_a_new_key_first_still_opens_what_the_old_one_sealed() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_old = Sealer(old).seal("xoxe.xoxb-secret")
    both = Sealer(f"{new}, {old}")
    assert both.open(sealed_old) == "xoxe.xoxb-secret"
    resealed = both.reseal(sealed_old)
    assert Sealer(new).open(resealed) == "xoxe.xoxb-secret"
    assert Sealer(new).open(both.seal("x")) == "x"
    with pytest.raises(UnsealError):
        Sealer(new).open(sealed_old)  # the old key dropped too early


def test_a_changed_ciphertext_or_a_bad_key_is_refused() -> None:
    key = Fernet.generate_key().decode()
    sealed = Sealer(key).seal("token")
    assert "token" not in sealed
    with pytest.raises(UnsealError):
        Sealer(key).open(sealed[:-4] + "AAAA")
    for bad in ("", "short", f"{key},nope"):
        with pytest.raises(SealingKeyError):
            Sealer(bad)

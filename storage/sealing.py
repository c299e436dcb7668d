"""Secrets sealed at rest: what a row keeps of a token is ciphertext, never the token.

Key format (SECRETS_KEY): one or more Fernet keys (32 url-safe base64-encoded bytes, as
`Fernet.generate_key()` writes them), separated by commas. The first key seals; every key opens.
Rotating a key: put the new key first and keep the old one after it; every secret sealed from
then on uses the new key, and `reseal` turns an old one into the new key's. Once none is left
under the old key (a refresh of each token does it), drop the old key. Fernet authenticates
what it seals: a changed or foreign ciphertext is refused, not opened into garbage.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

MAKE_A_KEY = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


class SealingKeyError(ValueError):
    """SECRETS_KEY is not a comma-separated list of Fernet keys."""


class UnsealError(ValueError):
    """A sealed value none of the keys opens (a key dropped too early, or a changed row)."""


class Sealer:
    def __init__(self, keys: str) -> None:
        parts = [part.strip() for part in keys.split(",") if part.strip()]
        if not parts:
            raise SealingKeyError(f"SECRETS_KEY is empty; make one with: {MAKE_A_KEY}")
        try:
            self._fernet = MultiFernet([Fernet(part.encode()) for part in parts])
        except ValueError:
            raise SealingKeyError(
                "SECRETS_KEY must be Fernet keys separated by commas (the first seals, all "
                f"open); make one with: {MAKE_A_KEY}"
            ) from None

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            raise UnsealError("a sealed secret that none of SECRETS_KEY's keys opens") from None

    def reseal(self, sealed: str) -> str:
        """The same secret sealed with the first key."""
        try:
            return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise UnsealError("a sealed secret that none of SECRETS_KEY's keys opens") from None

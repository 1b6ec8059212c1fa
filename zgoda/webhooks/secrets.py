"""Webhook signing secrets: made once, shown once, kept encrypted under ZGODA_SECRET_KEY.

Signing needs the secret itself, so a hash (as for API keys) would not do: it is encrypted
with Fernet (AES-128-CBC and HMAC-SHA256, authenticated; the `cryptography` package) under a
key derived from ZGODA_SECRET_KEY by HKDF-SHA256 with its own label, so the key that
encrypts secrets is never the one that signs consent tokens. A secret encrypted under a key
now in ZGODA_SECRET_KEY_FALLBACKS still decrypts, so the key can rotate. itsdangerous was
not enough: it signs, and leaves the secret readable to whoever reads the database.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from zgoda.errors import ConfigError

SECRET_PREFIX = "whsec_"  # the Standard Webhooks spelling: whsec_ and the key in base64
SECRET_BYTES = 32
HKDF_INFO = b"zgoda webhook signing secrets v1"


def new_secret() -> str:
    """A new random signing secret, whsec_ and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key_bytes(secret: str) -> bytes:
    """The HMAC key a whsec_ secret stands for."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
        secret_key.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def _keys(secret_key: str | None, fallbacks: Sequence[str]) -> MultiFernet:
    if not secret_key:
        raise ConfigError("ZGODA_SECRET_KEY is not set: webhook secrets cannot be kept without it")
    return MultiFernet([_fernet(secret_key), *(_fernet(key) for key in fallbacks)])


def encrypt_secret(secret: str, secret_key: str | None, fallbacks: Sequence[str] = ()) -> str:
    """`secret` encrypted under the current ZGODA_SECRET_KEY."""
    return _keys(secret_key, fallbacks).encrypt(secret.encode("ascii")).decode("ascii")


def decrypt_secret(stored: str, secret_key: str | None, fallbacks: Sequence[str] = ()) -> str:
    """The secret back; ConfigError if neither the key nor a fallback encrypted it."""
    try:
        return _keys(secret_key, fallbacks).decrypt(stored.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise ConfigError(
            "a webhook secret does not decrypt with ZGODA_SECRET_KEY or its fallbacks "
            "(was the key changed without keeping the old one in ZGODA_SECRET_KEY_FALLBACKS?)"
        ) from None

"""Signed consent tokens: the only module that touches itsdangerous.

Each site signs with its own key, derived from the app's secret, so a site can
be handed its verification key without learning any other site's. Key rotation:
`SECRET_KEY_FALLBACKS` still verify; `SECRET_KEY` signs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from itsdangerous import (
    BadData,
    BadSignature,
    SignatureExpired,
    Signer,
    TimestampSigner,
    URLSafeTimedSerializer,
)
from itsdangerous.encoding import base64_decode

from zgoda.errors import ExpiredToken, ForgedToken, MalformedToken, OtherSiteToken

TOKEN_SALT = "zgoda.consent-token"
KEY_DERIVATION_PREFIX = b"zgoda/site-signing-key/v1/"
MAX_KEPT_SERIALIZERS = 256


class _KeptKeysSigner(TimestampSigner):
    """Derives each key once: itsdangerous derives it anew for every signature."""

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        kept: dict[str | bytes | None, bytes] = self.__dict__.setdefault("_derived", {})
        key = kept.get(secret_key)
        if key is None:
            key = kept[secret_key] = super().derive_key(secret_key)
        return key


class _PlainPayloadSerializer(URLSafeTimedSerializer):
    """Never zlib-compresses, so the embed can read the payload with plain base64 + JSON.

    Its signer is made once (itsdangerous makes one per call); the tokens are the same.
    """

    default_signer = _KeptKeysSigner

    def dump_payload(self, obj: Any) -> bytes:
        json_text = json.dumps(obj, separators=(",", ":"), sort_keys=True).encode("utf-8")
        return base64.urlsafe_b64encode(json_text).rstrip(b"=")

    def make_signer(self, salt: str | bytes | None = None) -> Signer:
        if salt is not None and salt != self.salt:
            return super().make_signer(salt)
        signer: Signer | None = self.__dict__.get("_signer")
        if signer is None:
            signer = self.__dict__["_signer"] = super().make_signer(salt)
        return signer


def site_key(secret: str, site_id: str) -> str:
    """The signing (and verification) key of one site, derived from one app secret."""
    digest = hmac.new(secret.encode("utf-8"), KEY_DERIVATION_PREFIX + site_id.encode(), "sha256")
    return digest.hexdigest()


def site_serializer(keys: list[str]) -> URLSafeTimedSerializer:
    """The serializer a site's backend can build from its key(s), newest last."""
    return _PlainPayloadSerializer(
        keys, salt=TOKEN_SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )


class ConsentTokens:
    """Issue and verify consent tokens for every site of one app."""

    def __init__(self, secret_key: str, fallbacks: list[str] | None = None):
        # itsdangerous signs with the last key and verifies with any of them.
        self._secrets = [*(fallbacks or []), secret_key]
        self._serializers: dict[str, URLSafeTimedSerializer] = {}

    def keys_for(self, site_id: str) -> list[str]:
        """The site's keys, oldest first; the last one signs."""
        return [site_key(secret, site_id) for secret in self._secrets]

    def serializer(self, site_id: str) -> URLSafeTimedSerializer:
        """The site's serializer, built on first use (the sites are the notices' few)."""
        serializer = self._serializers.get(site_id)
        if serializer is None:
            if len(self._serializers) >= MAX_KEPT_SERIALIZERS:
                self._serializers.clear()
            serializer = self._serializers[site_id] = site_serializer(self.keys_for(site_id))
        return serializer

    def issue(self, site_id: str, payload: dict[str, Any]) -> str:
        """Sign `payload` for `site_id`."""
        return str(self.serializer(site_id).dumps(payload))

    def verify(self, site_id: str, token: str, max_age: int) -> dict[str, Any]:
        """The payload of a valid token, or a TokenError saying why it is not valid."""
        unverified = self.peek(token)
        if unverified.get("site") != site_id:
            raise OtherSiteToken("the token belongs to another site")
        try:
            payload: dict[str, Any] = self.serializer(site_id).loads(token, max_age=max_age)
        except SignatureExpired as error:
            raise ExpiredToken("the consent has expired") from error
        except BadSignature as error:
            raise ForgedToken("the signature does not match") from error
        except BadData as error:
            raise MalformedToken("not a consent token") from error
        if int(payload.get("exp", 0)) < time.time():
            raise ExpiredToken("the consent has expired")
        return payload

    @staticmethod
    def peek(token: str) -> dict[str, Any]:
        """The payload without checking the signature (as the embed reads it)."""
        try:
            encoded = token.split(".", 1)[0]
            payload = json.loads(base64_decode(encoded))
        except (ValueError, BadData, IndexError, RecursionError) as error:
            # RecursionError: json gives up on deeply nested arrays, which only a forger sends.
            raise MalformedToken("not a consent token") from error
        if not isinstance(payload, dict) or not isinstance(payload.get("site"), str):
            raise MalformedToken("not a consent token")
        return payload

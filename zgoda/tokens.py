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

from itsdangerous import BadData, BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode

from zgoda.errors import ExpiredToken, ForgedToken, MalformedToken, OtherSiteToken

TOKEN_SALT = "zgoda.consent-token"
KEY_DERIVATION_PREFIX = b"zgoda/site-signing-key/v1/"


class _PlainPayloadSerializer(URLSafeTimedSerializer):
    """Never zlib-compresses, so the embed can read the payload with plain base64 + JSON."""

    def dump_payload(self, obj: Any) -> bytes:
        json_text = json.dumps(obj, separators=(",", ":"), sort_keys=True).encode("utf-8")
        return base64.urlsafe_b64encode(json_text).rstrip(b"=")


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

    def keys_for(self, site_id: str) -> list[str]:
        """The site's keys, oldest first; the last one signs."""
        return [site_key(secret, site_id) for secret in self._secrets]

    def issue(self, site_id: str, payload: dict[str, Any]) -> str:
        """Sign `payload` for `site_id`."""
        return str(site_serializer(self.keys_for(site_id)).dumps(payload))

    def verify(self, site_id: str, token: str, max_age: int) -> dict[str, Any]:
        """The payload of a valid token, or a TokenError saying why it is not valid."""
        unverified = self.peek(token)
        if unverified.get("site") != site_id:
            raise OtherSiteToken("the token belongs to another site")
        try:
            payload: dict[str, Any] = site_serializer(self.keys_for(site_id)).loads(
                token, max_age=max_age
            )
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

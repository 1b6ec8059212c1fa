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
from typing import Annotated, Any, NamedTuple

from itsdangerous import (
    BadData,
    BadSignature,
    Signer,
    TimestampSigner,
    URLSafeTimedSerializer,
)
from itsdangerous.encoding import base64_decode
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zgoda.errors import ExpiredToken, ForgedToken, MalformedToken, OtherSiteToken

TOKEN_SALT = "zgoda.consent-token"
KEY_DERIVATION_PREFIX = b"zgoda/site-signing-key/v1/"
MAX_KEPT_SERIALIZERS = 256
MAX_TOKEN_LENGTH = 4096
# 9999-12-31T23:59:59Z: any later time is no date datetime can hold.
MAX_TIMESTAMP = 253402300799
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

Flag = Annotated[int, Field(ge=0, le=1)]
Timestamp = Annotated[int, Field(ge=0, le=MAX_TIMESTAMP)]
Short = Annotated[str, Field(min_length=1, max_length=64)]


class TokenPayload(BaseModel):
    """What a consent token carries, under the short keys the embed and a site's backend read.

    Checked right after the signature: a correctly signed token of any other shape is
    malformed, so no caller meets a string where a number belongs.
    """

    # Strict: JSON's true is not a 1, nor "5" a 5.
    model_config = ConfigDict(
        strict=True, frozen=True, validate_by_name=True, serialize_by_alias=True
    )

    version: Annotated[int, Field(alias="v", ge=1, le=1)]
    site: Short
    consent_id: Annotated[str, Field(alias="cid", pattern=UUID_PATTERN)]
    notice_version: Annotated[Short, Field(alias="nv")]
    choices: Annotated[dict[Short, Flag], Field(alias="ch")]
    purpose_hashes: Annotated[dict[Short, Short], Field(alias="ph")]
    consent_types: Annotated[list[Short], Field(alias="cm")]
    gpc: Flag
    issued_at: Annotated[Timestamp, Field(alias="iat")]
    expires_at: Annotated[Timestamp, Field(alias="exp")]

    @property
    def granted(self) -> dict[str, bool]:
        """The choice per purpose as booleans."""
        return {purpose: bool(flag) for purpose, flag in self.choices.items()}


class CheckedToken(NamedTuple):
    """A token the site signed, and whether it is past its lifetime."""

    payload: TokenPayload
    expired: bool


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

    def issue(self, site_id: str, payload: TokenPayload) -> str:
        """Sign `payload` for `site_id`."""
        return str(self.serializer(site_id).dumps(payload.model_dump(mode="json")))

    def verify(self, site_id: str, token: str, max_age: int) -> TokenPayload:
        """The payload of a valid token, or a TokenError saying why it is not valid."""
        checked = self.check(site_id, token, max_age)
        if checked.expired:
            raise ExpiredToken("the consent has expired")
        return checked.payload

    def check(self, site_id: str, token: str, max_age: int) -> CheckedToken:
        """A token the site signed, expired or not; a TokenError if the site did not sign it.

        The signature is checked before the age, so an expired token's payload can be
        trusted: it still proves its holder was given that consent id.
        """
        if self.peek(token).get("site") != site_id:
            raise OtherSiteToken("the token belongs to another site")
        try:
            raw, signed_at = self.serializer(site_id).loads(token, return_timestamp=True)
        except BadSignature as error:
            raise ForgedToken("the signature does not match") from error
        except BadData as error:
            raise MalformedToken("not a consent token") from error
        except (ValueError, OverflowError, OSError) as error:
            # A signature timestamp no clock can show; only a holder of the key could make one.
            raise MalformedToken("not a consent token") from error
        try:
            payload = TokenPayload.model_validate(raw)
        except ValidationError as error:
            raise MalformedToken("not a consent token") from error
        now = time.time()
        age = now - signed_at.timestamp()
        # Expired at its exp second, as state_of and the README's snippets have it.
        expired = not 0 <= age <= max_age or payload.expires_at <= now
        return CheckedToken(payload, expired)

    @staticmethod
    def peek(token: str) -> dict[str, Any]:
        """The payload without checking the signature or its shape (as the embed reads it)."""
        try:
            encoded = token.split(".", 1)[0]
            payload = json.loads(base64_decode(encoded))
        except (ValueError, BadData, IndexError, RecursionError) as error:
            # RecursionError: json gives up on deeply nested arrays, which only a forger sends.
            raise MalformedToken("not a consent token") from error
        if not isinstance(payload, dict) or not isinstance(payload.get("site"), str):
            raise MalformedToken("not a consent token")
        return payload

"""Consent tokens: per-site keys, a payload the embed can read, rotation, and why one fails."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import pytest
from itsdangerous import BadSignature, URLSafeTimedSerializer

from zgoda.consent.tokens import TOKEN_SALT, ConsentTokens, TokenPayload, site_key, site_serializer
from zgoda.errors import ExpiredToken, ForgedToken, MalformedToken, OtherSiteToken

SECRET = "test-secret"
MAX_AGE = 3600


def payload(site: str = "optingo", **fields: Any) -> dict[str, Any]:
    """A payload of the shape Zgoda signs, as the embed reads it."""
    now = int(time.time())
    return {
        "v": 1,
        "site": site,
        "cid": "3f1e0a4c-0000-4000-8000-000000000000",
        "nv": "0123456789abcdef",
        "ch": {"necessary": 1, "statistics": 0},
        "ph": {"necessary": "0a1b2c3d", "statistics": "4e5f6a7b"},
        "cm": ["security_storage"],
        "gpc": 0,
        "iat": now,
        "exp": now + 60,
    } | fields


def issue(tokens: ConsentTokens, site: str, sent: dict[str, Any]) -> str:
    return tokens.issue(site, TokenPayload.model_validate(sent))


def readme_verifier(keys: list[str]) -> URLSafeTimedSerializer:
    """The serializer the README tells a site's backend to build: plain itsdangerous."""
    return URLSafeTimedSerializer(
        keys, salt="zgoda.consent-token", signer_kwargs={"digest_method": hashlib.sha256}
    )


def flip(token: str, index: int) -> str:
    """The token with one character of its signature changed (not a padding bit)."""
    body, signature = token.rsplit(".", 1)
    replacement = "A" if signature[index] != "A" else "B"
    return f"{body}.{signature[:index]}{replacement}{signature[index + 1 :]}"


def test_each_site_has_its_own_key() -> None:
    tokens = ConsentTokens(SECRET)
    assert tokens.keys_for("optingo") != tokens.keys_for("other-site")
    assert tokens.keys_for("optingo") == [site_key(SECRET, "optingo")]
    assert site_key(SECRET, "optingo") != site_key("another-secret", "optingo")
    assert SECRET not in site_key(SECRET, "optingo")


def test_a_site_key_verifies_only_that_sites_tokens() -> None:
    tokens = ConsentTokens(SECRET)
    token = issue(tokens, "optingo", payload())
    with pytest.raises(BadSignature):
        readme_verifier([site_key(SECRET, "other-site")]).loads(token)
    with pytest.raises(BadSignature):
        readme_verifier([SECRET]).loads(token)  # the app secret itself is not the key either


def test_the_payload_is_readable_without_the_key() -> None:
    sent = payload()
    token = issue(ConsentTokens(SECRET), "optingo", sent)
    assert ConsentTokens.peek(token) == sent
    # As the embed reads it: base64url of the first segment, then JSON.
    encoded = token.split(".", 1)[0]
    assert json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))) == sent


def test_the_payload_is_never_compressed() -> None:
    # itsdangerous zlib-compresses long payloads and marks them with a leading ".".
    big = payload(ph={f"purpose-{n}": "0" * 8 for n in range(200)})
    token = issue(ConsentTokens(SECRET), "optingo", big)
    assert not token.startswith(".")
    assert ConsentTokens.peek(token) == big


def test_a_sites_own_key_verifies_with_plain_itsdangerous() -> None:
    sent = payload()
    token = issue(ConsentTokens(SECRET), "optingo", sent)
    keys = ConsentTokens(SECRET).keys_for("optingo")
    assert readme_verifier(keys).loads(token, max_age=MAX_AGE) == sent
    assert TOKEN_SALT == "zgoda.consent-token"  # the salt the README prints


def test_a_valid_token_verifies() -> None:
    sent = payload()
    tokens = ConsentTokens(SECRET)
    verified = tokens.verify("optingo", issue(tokens, "optingo", sent), max_age=MAX_AGE)
    assert verified.model_dump() == sent
    assert verified.consent_id == sent["cid"] and verified.notice_version == sent["nv"]
    assert verified.granted == {"necessary": True, "statistics": False}


@pytest.mark.parametrize("token", ["abc", "", "a.b.c", "WzFd.x.y", "////.x"])
def test_a_malformed_token_is_named_so(token: str) -> None:
    with pytest.raises(MalformedToken):
        ConsentTokens(SECRET).verify("optingo", token, max_age=MAX_AGE)


def test_a_changed_signature_is_forged() -> None:
    tokens = ConsentTokens(SECRET)
    token = issue(tokens, "optingo", payload())
    with pytest.raises(ForgedToken):
        tokens.verify("optingo", flip(token, 10), max_age=MAX_AGE)


def test_a_changed_payload_is_forged() -> None:
    tokens = ConsentTokens(SECRET)
    token = issue(tokens, "optingo", payload())
    _, timestamp, signature = token.split(".")
    granted = payload(ch={"necessary": 1, "statistics": 1})
    encoded = base64.urlsafe_b64encode(json.dumps(granted).encode()).rstrip(b"=").decode()
    with pytest.raises(ForgedToken):
        tokens.verify("optingo", f"{encoded}.{timestamp}.{signature}", max_age=MAX_AGE)


def test_another_sites_token_is_named_so() -> None:
    tokens = ConsentTokens(SECRET)
    token = issue(tokens, "other-site", payload(site="other-site"))
    with pytest.raises(OtherSiteToken):
        tokens.verify("optingo", token, max_age=MAX_AGE)


def test_a_token_older_than_max_age_has_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = ConsentTokens(SECRET)
    issued_at = time.time() - MAX_AGE - 10
    with monkeypatch.context() as frozen:
        frozen.setattr(time, "time", lambda: issued_at)
        token = issue(tokens, "optingo", payload(exp=int(issued_at) + 10 * MAX_AGE))
    with pytest.raises(ExpiredToken):
        tokens.verify("optingo", token, max_age=MAX_AGE)
    # Still genuine: its payload proves the consent id it was issued for.
    checked = tokens.check("optingo", token, max_age=MAX_AGE)
    assert checked.expired and checked.payload.consent_id == payload()["cid"]


def test_a_token_has_expired_at_its_exp_second(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = ConsentTokens(SECRET)
    now = float(int(time.time()))
    token = issue(tokens, "optingo", payload(exp=int(now) + 60))
    for moment, expired in ((now + 59.999, False), (now + 60, True)):
        with monkeypatch.context() as frozen:
            frozen.setattr(time, "time", lambda moment=moment: moment)
            assert tokens.check("optingo", token, max_age=MAX_AGE).expired is expired


def test_a_token_past_its_exp_has_expired() -> None:
    tokens = ConsentTokens(SECRET)
    token = issue(tokens, "optingo", payload(exp=int(time.time()) - 1))
    with pytest.raises(ExpiredToken):
        tokens.verify("optingo", token, max_age=MAX_AGE)
    assert tokens.check("optingo", token, max_age=MAX_AGE).expired


def test_rotation_verifies_old_tokens_and_signs_with_the_new_key() -> None:
    old_token = issue(ConsentTokens("old-secret"), "optingo", payload())
    rotated = ConsentTokens("new-secret", fallbacks=["old-secret"])
    assert rotated.keys_for("optingo") == [
        site_key("old-secret", "optingo"),
        site_key("new-secret", "optingo"),
    ]
    assert rotated.verify("optingo", old_token, max_age=MAX_AGE).site == "optingo"
    new_token = issue(rotated, "optingo", payload())
    assert readme_verifier([site_key("new-secret", "optingo")]).loads(new_token)
    with pytest.raises(ForgedToken):
        ConsentTokens("new-secret").verify("optingo", old_token, max_age=MAX_AGE)


def test_deeply_nested_payload_is_malformed_not_a_crash() -> None:
    nested = base64.urlsafe_b64encode(b"[" * 3000).rstrip(b"=").decode()
    with pytest.raises(MalformedToken):
        ConsentTokens.peek(f"{nested}.e30.e30")


def test_payload_without_site_is_malformed() -> None:
    with pytest.raises(MalformedToken):
        ConsentTokens("secret").verify("optingo", "e30.e30.e30", max_age=60)


def test_a_fresh_token_is_not_expired() -> None:
    tokens = ConsentTokens(SECRET)
    checked = tokens.check("optingo", issue(tokens, "optingo", payload()), max_age=MAX_AGE)
    assert not checked.expired


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": "9999999999"},
        {"exp": 1.5},
        {"iat": 10**30},
        {"iat": 10**400},
        {"iat": -1},
        {"ch": ["necessary"]},
        {"ch": {"necessary": 2}},
        {"ch": {"necessary": True}},
        {"ch": {"necessary": "1"}},
        {"ph": ["0a1b2c3d"]},
        {"cm": "security_storage"},
        {"gpc": True},
        {"cid": 42},
        {"cid": "not-a-uuid"},
        {"v": 2},
        {"nv": None},
    ],
)
def test_a_signed_payload_of_the_wrong_shape_is_malformed(changes: dict[str, Any]) -> None:
    tokens = ConsentTokens(SECRET)
    signer = site_serializer(tokens.keys_for("optingo"))  # the real key: only the shape is wrong
    for token in (
        signer.dumps(payload() | changes),
        signer.dumps({k: v for k, v in payload().items() if k not in changes}),  # missing
    ):
        with pytest.raises(MalformedToken):
            tokens.verify("optingo", token, max_age=MAX_AGE)
        with pytest.raises(MalformedToken):
            tokens.check("optingo", token, max_age=MAX_AGE)


def test_a_signature_time_no_clock_can_show_is_malformed(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens, sent = ConsentTokens(SECRET), payload()
    with monkeypatch.context() as frozen:
        frozen.setattr(time, "time", lambda: 10.0**15)  # itsdangerous stamps with time.time()
        token = issue(tokens, "optingo", sent)
    with pytest.raises(MalformedToken):
        tokens.verify("optingo", token, max_age=MAX_AGE)

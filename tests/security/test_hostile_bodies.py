"""No input makes a 500: JSON nested too deeply, and genuinely signed tokens of the wrong shape."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.security.test_consent_hijack import logged, sign
from tests.test_api import SITE, assert_error, banner, post_consent, record, verify
from tests.test_receipts import hidden_fields, page_url
from zgoda.consent.tokens import ConsentTokens

# Each fits in the default 16 KiB body, and nests deeper than Python's json can recurse.
NESTED_BODIES = {
    "arrays": "[" * 5000,
    "objects": '{"a":' * 3000,
    "closed arrays": "[" * 3000 + "]" * 3000,
    "inside a field": '{"token":' + "[" * 5000,
}

# Changes to a real token's payload (None: the key is left out); the result is signed with
# the site's real key, so only its shape is wrong.
ILL_TYPED: dict[str, dict[str, Any]] = {
    "exp a string": {"exp": "9999999999"},
    "exp huge": {"exp": 10**400},
    "iat a huge float": {"iat": 1e30},
    "iat huge": {"iat": 10**400},
    "ch a list": {"ch": ["necessary", "statistics"]},
    "ch not 0 or 1": {"ch": {"necessary": 1, "statistics": 2}},
    "ch a string value": {"ch": {"necessary": 1, "statistics": "yes"}},
    "cid missing": {"cid": None},
    "cid not a string": {"cid": [1]},
    "ph not a dict": {"ph": "0a1b2c3d"},
    "v missing": {"v": None},
}


def ill_typed_tokens(app: Flask, token: str) -> dict[str, str]:
    """`token` re-signed with each ill-typed change; its consent id kept unless that is the change."""
    signed = {}
    for name, changes in ILL_TYPED.items():
        payload = ConsentTokens.peek(token) | changes
        signed[name] = sign(
            app, {key: value for key, value in payload.items() if value is not None}
        )
    return signed


@pytest.mark.parametrize("endpoint", ["verify", "consents"])
@pytest.mark.parametrize("data", NESTED_BODIES.values(), ids=NESTED_BODIES.keys())
def test_deeply_nested_json_is_a_400_naming_the_body(
    db_app: Flask, endpoint: str, data: str
) -> None:
    assert len(data) < 16 * 1024
    response = db_app.test_client().post(
        f"/api/v1/sites/{SITE}/{endpoint}", data=data, content_type="application/json"
    )
    assert_error(response, 400, "bad_request", field="body")


def test_ill_typed_signed_tokens_are_malformed_on_verify(db_app: Flask) -> None:
    client = db_app.test_client()
    genuine = record(client)["token"]
    for name, token in ill_typed_tokens(db_app, genuine).items():
        response = client.post(f"/api/v1/sites/{SITE}/verify", json={"token": token})
        assert response.status_code == 200, (name, response.get_data(as_text=True))
        body = response.get_json()
        assert body["status"] == "malformed" and body["valid"] is False, (name, body)
    assert verify(client, genuine)["status"] == "valid"


@pytest.mark.parametrize("suffix", ["", "/receipt.json"])
def test_ill_typed_signed_tokens_do_not_open_the_receipt(db_app: Flask, suffix: str) -> None:
    client = db_app.test_client()
    consent = record(client)
    url = page_url(consent["consent_id"], suffix)
    for name, token in ill_typed_tokens(db_app, consent["token"]).items():
        response = client.get(url, query_string={"token": token})
        assert response.status_code == 404, (name, response.status_code)
        assert "zgoda_receipt" not in response.headers.get("Set-Cookie", ""), name
        posted = client.post(page_url(consent["consent_id"]), data={"token": token})
        assert posted.status_code == 404, (name, posted.status_code)
    assert client.get(url, query_string={"token": consent["token"]}).status_code in (200, 303)


def test_ill_typed_signed_tokens_continue_no_consent(db_app: Flask) -> None:
    client = db_app.test_client()
    consent = record(client, action="reject_all")
    before = logged(db_app, consent["consent_id"])
    for name, token in ill_typed_tokens(db_app, consent["token"]).items():
        response = post_consent(client, action="accept_all", token=token)
        assert_error(response, 403, "unproven_consent", field="token")
        assert logged(db_app, consent["consent_id"]) == before, name


def test_ill_typed_signed_tokens_are_refused_by_the_no_javascript_form(db_app: Flask) -> None:
    client = db_app.test_client()
    consent = record(client, action="reject_all")
    before = logged(db_app, consent["consent_id"])
    fields = hidden_fields(client.get(f"/{SITE}/cookies?lang=en").get_data(as_text=True))
    assert fields["notice_version"] == banner(client)["notice_version"]
    for name, token in ill_typed_tokens(db_app, consent["token"]).items():
        response = client.post(
            f"/{SITE}/cookies/preferences", data=fields | {"token": token, "action": "accept_all"}
        )
        assert response.status_code == 400, (name, response.status_code)
        assert logged(db_app, consent["consent_id"]) == before, name
    # The same token in a cookie is not trusted either: the form starts a new consent id.
    client.set_cookie(
        f"zgoda_consent_{SITE}", ill_typed_tokens(db_app, consent["token"])["ch a list"]
    )
    response = client.post(f"/{SITE}/cookies/preferences", data=fields | {"action": "accept_all"})
    assert response.status_code == 303
    assert logged(db_app, consent["consent_id"]) == before

"""Knowing a consent id (it is in every receipt URL) is not enough to read or extend its history.

The attack, before the fix: `POST /consents {"consent_id": <victim's id>, "action": "accept_all"}`
appended to the victim's history and answered with a validly signed token for that id.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.test_api import OTHER_SITE, SITE, assert_error, flip, post_consent, record, verify
from tests.test_receipts import page_url
from zgoda.consent.tokens import ConsentTokens, site_serializer
from zgoda.store.db import engine
from zgoda.store.log import history_for
from zgoda.web.tokens_ext import consent_tokens


def sign(app: Flask, payload: dict[str, Any], site: str = SITE) -> str:
    """Any payload, signed with the site's real key (as only Zgoda could)."""
    with app.app_context():
        keys = consent_tokens().keys_for(site)
    return str(site_serializer(keys).dumps(payload))


def resign(app: Flask, token: str, **changes: Any) -> str:
    """`token`'s payload with `changes`, signed with the real key of the site it then names."""
    payload = ConsentTokens.peek(token) | changes
    return sign(app, payload, payload["site"])


def logged(app: Flask, consent_id: str) -> list[tuple[int, str, str]]:
    """The consent id's history as (sequence, action, record hash)."""
    with app.app_context():
        history = history_for(engine(), SITE, consent_id)
    return [(item.sequence, item.event.action, item.record_hash) for item in history]


def attempts(
    app: Flask, victim: dict[str, Any], attacker: FlaskClient
) -> dict[str, dict[str, Any]]:
    """Bodies an attacker who knows only the victim's consent id can send, and the field blamed."""
    own = record(attacker)  # a genuine token, of another consent id
    return {
        "the bare consent id": {"consent_id": victim["consent_id"]},
        "the consent id beside the attacker's own token": {
            "consent_id": victim["consent_id"],
            "token": own["token"],
        },
        "a token claiming the id, with a made-up signature": {
            "token": flip(resign(app, own["token"], cid=victim["consent_id"]), 5)
        },
        "a token for the id signed with another site's key": {
            "token": resign(app, own["token"], site=OTHER_SITE, cid=victim["consent_id"])
        },
        "a token that is no token": {"token": victim["consent_id"]},
    }


@pytest.mark.parametrize("victims_choice", ["accept_all", "reject_all"])
def test_an_attacker_who_knows_only_the_consent_id_can_neither_read_nor_extend_it(
    db_app: Flask, victims_choice: str
) -> None:
    victim, attacker = db_app.test_client(), db_app.test_client()
    mine = record(victim, action=victims_choice)
    cid = mine["consent_id"]
    before = logged(db_app, cid)
    assert [action for _, action, _ in before] == [victims_choice]

    # The receipt URL gives the id away, but neither the page nor the JSON opens without a token.
    for suffix in ("", "/receipt.json"):
        assert attacker.get(page_url(cid, suffix), query_string={"lang": "en"}).status_code == 404
        assert attacker.get(page_url(cid, suffix), query_string={"token": cid}).status_code == 404

    for name, body in attempts(db_app, mine, attacker).items():
        response = post_consent(attacker, action="accept_all", **body)
        assert 400 <= response.status_code < 500, (name, response.get_json())
        answer = response.get_json()
        assert "token" not in answer, name
        field = "consent_id" if "consent_id" in body else "token"
        if field == "token":
            assert_error(response, 403, "unproven_consent", field="token")
        else:
            assert_error(response, 422, "validation_error", field="consent_id")
            assert "`token`" in answer["message"], name
        assert logged(db_app, cid) == before, name

    # The victim's token still speaks for their unchanged choice.
    assert verify(victim, mine["token"])["consent_id"] == cid


def test_the_victim_continues_their_consent_with_their_token(db_app: Flask) -> None:
    client = db_app.test_client()
    first = record(client, action="reject_all")
    cid = first["consent_id"]
    later = record(client, action="accept_all", token=first["token"])
    assert later["consent_id"] == cid
    assert verify(client, later["token"])["consent_id"] == cid
    assert [action for _, action, _ in logged(db_app, cid)] == ["reject_all", "accept_all"]
    # The receipt opens with the new token, and shows both records.
    receipt = client.get(page_url(cid, "/receipt.json"), query_string={"token": later["token"]})
    assert receipt.status_code == 200
    assert [entry["action"] for entry in receipt.get_json()["history"]] == [
        "reject_all",
        "accept_all",
    ]


def signed_long_ago(app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> str:
    """A token signed 200 days ago (the lifetime is 180): itsdangerous stamps time.time()."""
    long_ago = time.time() - 200 * 24 * 3600
    with monkeypatch.context() as frozen:
        frozen.setattr(time, "time", lambda: long_ago)
        token: str = record(client, action="accept_all")["token"]
    return token


def past_its_exp(app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> str:
    """A token signed now whose own `exp` has passed."""
    return resign(app, record(client, action="accept_all")["token"], exp=int(time.time()) - 60)


@pytest.mark.parametrize("expired_token", [signed_long_ago, past_its_exp])
def test_an_expired_but_genuine_token_continues_its_consent_id(
    db_app: Flask, monkeypatch: pytest.MonkeyPatch, expired_token: Any
) -> None:
    client = db_app.test_client()
    token = expired_token(db_app, client, monkeypatch)
    assert verify(client, token)["status"] == "expired"
    cid = ConsentTokens.peek(token)["cid"]
    answer = record(client, action="withdraw", token=token)
    assert answer["consent_id"] == cid
    assert [action for _, action, _ in logged(db_app, cid)] == ["accept_all", "withdraw"]
    assert verify(client, answer["token"])["status"] == "valid"

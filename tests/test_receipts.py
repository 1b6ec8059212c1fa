"""A visitor's consent record and JSON receipt, on SQLite and PostgreSQL: who may see it, what it says."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.test_api import OPTIONAL, SITE, flip, record
from zgoda.consent.tokens import ConsentTokens, TokenPayload
from zgoda.receipts import RECEIPT_VERSION
from zgoda.store.db import engine
from zgoda.store.log import history_for
from zgoda.web.tokens_ext import consent_tokens


def page_url(consent_id: str, suffix: str = "") -> str:
    return f"/{SITE}/consent/{consent_id}{suffix}"


def open_receipt(client: FlaskClient, consent_id: str, token: str, lang: str = "en") -> str:
    """Follow a ?token= link as a browser would; the page's HTML."""
    handed_over = client.get(page_url(consent_id), query_string={"token": token, "lang": lang})
    assert handed_over.status_code == 303, handed_over.get_data(as_text=True)
    assert handed_over.headers["Location"] == f"{page_url(consent_id)}?lang={lang}"
    page = client.get(handed_over.headers["Location"])
    assert page.status_code == 200
    return page.get_data(as_text=True)


def hidden_fields(markup: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', markup))


def history(app: Flask, consent_id: str) -> list[Any]:
    with app.app_context():
        return history_for(engine(), SITE, consent_id)


def resign(app: Flask, token: str, **changes: Any) -> str:
    """`token`'s payload with `changes`, signed with the real key of the site it then names."""
    with app.app_context():
        payload = TokenPayload.model_validate(ConsentTokens.peek(token) | changes)
        return consent_tokens().issue(payload.site, payload)


def receipt(client: FlaskClient, consent_id: str, token: str) -> dict[str, Any]:
    response = client.get(page_url(consent_id, "/receipt.json"), query_string={"token": token})
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


# --- seeing one's own record --------------------------------------------------------------


def test_a_valid_token_shows_the_current_choices_and_the_history(db_app: Flask) -> None:
    client = db_app.test_client()
    first = record(client, action="accept_all")
    cid = first["consent_id"]
    later = record(
        client,
        action="custom",
        token=first["token"],
        choices=dict.fromkeys(OPTIONAL, False) | {"statistics": True},
    )
    assert later["consent_id"] == cid

    handed_over = client.get(page_url(cid), query_string={"token": later["token"], "lang": "en"})
    assert handed_over.status_code == 303
    cookie = handed_over.headers["Set-Cookie"]
    assert cookie.startswith("zgoda_receipt=")
    assert f"Path={page_url(cid)}" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "token" not in handed_over.headers["Location"]

    response = client.get(handed_over.headers["Location"])
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    markup = response.get_data(as_text=True)
    assert "Your consent record" in markup and cid in markup
    assert "In force: you agreed to at least one optional purpose." in markup
    current = markup.split('id="current-h"')[1].split('id="history-h"')[0]
    assert re.search(r"Statistics</th>\s*<td>Allowed</td>", current)
    assert re.search(r"Advertising \(remarketing\)</th>\s*<td>Not allowed</td>", current)
    assert re.search(r"Strictly necessary</th>\s*<td>Always on", current)
    rows = markup.split('id="history-h"')[1].split("<tbody>")[1].split("</tbody>")[0].count("<tr>")
    assert rows == 2
    newest, oldest = markup.index("Chose per purpose"), markup.index("Accepted all")
    assert newest < oldest, "newest first"
    assert "the consent API" in markup
    for logged in history(db_app, cid):
        assert logged.event.notice_version in markup
    # The form to change it carries this consent's token; the receipt is one link away.
    assert hidden_fields(markup)["token"] == later["token"]
    assert 'value="withdraw"' in markup
    assert f'href="{page_url(cid, "/receipt.json")}" download' in markup


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_the_page_is_in_both_languages(db_app: Flask, lang: str) -> None:
    client = db_app.test_client()
    consent = record(client)
    markup = open_receipt(client, consent["consent_id"], consent["token"], lang)
    assert f'<html lang="{lang}">' in markup
    heading = {"pl": "Twoja zgoda: potwierdzenie i historia", "en": "Your consent record"}[lang]
    assert f"<h1>{heading}</h1>" in markup
    # The language switcher works without the token in the URL: the cookie carries it.
    other = "en" if lang == "pl" else "pl"
    assert (
        client.get(page_url(consent["consent_id"]), query_string={"lang": other}).status_code == 200
    )


def test_the_no_javascript_cookie_opens_the_record_too(db_app: Flask) -> None:
    client = db_app.test_client()
    fields = hidden_fields(client.get(f"/{SITE}/cookies?lang=en").get_data(as_text=True))
    client.post(f"/{SITE}/cookies/preferences", data=fields | {"action": "accept_all"})
    cookie = client.get_cookie(f"zgoda_consent_{SITE}")
    assert cookie is not None
    cid = ConsentTokens.peek(cookie.value)["cid"]
    response = client.get(page_url(cid), query_string={"lang": "en"})
    assert response.status_code == 200
    assert "Accepted all" in response.get_data(as_text=True)


def test_a_customer_site_can_post_the_token_instead_of_linking(db_app: Flask) -> None:
    client = db_app.test_client()
    consent = record(client)
    # No CSRF token: the posted consent token is the credential.
    response = client.post(page_url(consent["consent_id"]), data={"token": consent["token"]})
    assert response.status_code == 303
    assert client.get(response.headers["Location"]).status_code == 200


def test_an_expired_but_genuine_token_still_shows_the_history(db_app: Flask) -> None:
    client = db_app.test_client()
    consent = record(client)
    expired = resign(db_app, consent["token"], exp=int(time.time()) - 60)
    open_receipt(client, consent["consent_id"], expired)


# --- no valid token: the ordinary 404 ----------------------------------------------------


def not_found_body(response: TestResponse, consent_id: str) -> str:
    assert response.status_code == 404
    assert "zgoda_receipt" not in response.headers.get("Set-Cookie", "")
    return response.get_data(as_text=True).replace(consent_id, "<id>")


@pytest.mark.parametrize("suffix", ["", "/receipt.json"])
def test_without_a_valid_token_the_record_is_an_ordinary_404(db_app: Flask, suffix: str) -> None:
    client = db_app.test_client()
    mine = record(client)
    other = record(db_app.test_client())
    cid = mine["consent_id"]
    unknown = str(uuid.uuid4())
    foreign_site_token = resign(db_app, mine["token"], site="apifonica")
    reference = not_found_body(
        client.get(page_url(unknown, suffix), query_string={"lang": "en"}), unknown
    )
    assert "Page not found" in reference
    attempts = {
        "no token": None,
        "another consent's token": other["token"],
        "forged signature": flip(mine["token"], 3),
        "another site's token": foreign_site_token,
        "malformed": "not-a-token",
        "empty": "",
    }
    for name, token in attempts.items():
        query = {"lang": "en"} | ({} if token is None else {"token": token})
        body = not_found_body(client.get(page_url(cid, suffix), query_string=query), cid)
        assert body == reference, name
        assert mine["token"] not in body
    # A genuine token for an id with no history (here: one never used) ends in the same 404.
    made_up = resign(db_app, mine["token"], cid=unknown)
    response = client.get(page_url(unknown, suffix), query_string={"token": made_up})
    if response.status_code == 303:  # the page first keeps the token, then has nothing to show
        response = client.get(response.headers["Location"], query_string={"lang": "en"})
    assert not_found_body(response, unknown) == reference


def test_a_cookie_for_another_consent_does_not_open_this_one(db_app: Flask) -> None:
    client = db_app.test_client()
    mine, theirs = record(client), record(client)
    open_receipt(client, mine["consent_id"], mine["token"])
    client.set_cookie(f"zgoda_consent_{SITE}", mine["token"])
    assert client.get(page_url(theirs["consent_id"])).status_code == 404
    # Posting a forged token is refused the same way.
    forged = client.post(page_url(theirs["consent_id"]), data={"token": flip(theirs["token"], 3)})
    assert forged.status_code == 404


# --- the JSON receipt ----------------------------------------------------------------------


def test_the_json_receipt_has_the_kantara_fields_and_the_chain_proof(db_app: Flask) -> None:
    client = db_app.test_client()
    consent = record(client, action="accept_all")
    cid = consent["consent_id"]
    response = client.get(page_url(cid, "/receipt.json"), query_string={"token": consent["token"]})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="consent-receipt-{SITE}-{cid}.json"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    logged = history(db_app, cid)
    latest = logged[-1]

    assert body["version"] == RECEIPT_VERSION == "KI-CR-v1.1.0"
    assert body["jurisdiction"] == "PL"
    assert body["consentTimestamp"] == int(latest.event.recorded_at.timestamp())
    assert body["collectionMethod"] == "api"
    assert uuid.UUID(body["consentReceiptID"])
    assert body["language"] == "en"
    assert body["piiPrincipalId"] == cid
    assert body["piiControllers"] == [
        {
            "piiController": "Optingo Digital Sp. z o.o.",
            "onBehalf": False,
            "contact": "office@optingo.eu",
            "address": {
                "streetAddress": "Al. Jerozolimskie 181B",
                "postalCode": "02-222",
                "addressLocality": "Warszawa",
                "addressCountry": "PL",
            },
            "email": "office@optingo.eu",
            "phone": "",
            "piiControllerUrl": "https://optingo.eu",
        }
    ]
    assert body["policyUrl"] == f"http://localhost/{SITE}/privacy?lang=en"
    assert body["sensitive"] is False and body["spiCat"] == []
    [service] = body["services"]
    assert service["service"] == "Optingo"
    purposes = {purpose["purposeCategory"][0]: purpose for purpose in service["purposes"]}
    assert set(purposes) == OPTIONAL
    advertising = purposes["advertising"]
    assert advertising["purpose"] == "Advertising (remarketing)"
    assert advertising["consentType"] == "EXPLICIT"
    assert advertising["piiCategory"] == [] and advertising["primaryPurpose"] is False
    assert advertising["thirdPartyDisclosure"] is True
    assert advertising["thirdPartyName"] == "Facebook, LinkedIn, Google"
    assert purposes["statistics"]["thirdPartyDisclosure"] is False
    assert advertising["termination"].startswith(latest.event.expires_at.strftime("%Y-%m-%dT"))

    assert body["notice_version"] == latest.event.notice_version
    assert body["status"] == "active"
    assert body["choices"] == latest.event.choices
    [entry] = body["history"]
    assert entry["action"] == "accept_all" and entry["source"] == "api"
    assert entry["sequence"] == latest.sequence and entry["record_hash"] == latest.record_hash
    assert entry["notice_version"] == latest.event.notice_version


def test_the_receipt_id_is_stable_until_the_consent_changes(db_app: Flask) -> None:
    client = db_app.test_client()
    consent = record(client, action="accept_all")
    cid = consent["consent_id"]
    first = receipt(client, cid, consent["token"])
    assert receipt(client, cid, consent["token"])["consentReceiptID"] == first["consentReceiptID"]
    refused = record(client, action="reject_all", token=consent["token"])
    second = receipt(client, cid, refused["token"])
    assert second["consentReceiptID"] != first["consentReceiptID"]
    # Only granted purposes are Kantara purposes; the refusals are in `choices`.
    assert second["services"][0]["purposes"] == []
    assert second["status"] == "refused"
    assert not any(second["choices"][purpose] for purpose in OPTIONAL)
    assert [entry["action"] for entry in second["history"]] == ["accept_all", "reject_all"]
    # The old token is still this consent's: it opens the newer receipt too.
    assert receipt(client, cid, consent["token"])["consentReceiptID"] == second["consentReceiptID"]


# --- changing and withdrawing on the page ---------------------------------------------------


def test_changing_and_withdrawing_on_the_page_keep_the_consent_id(db_app: Flask) -> None:
    client = db_app.test_client()
    consent = record(client, action="accept_all")
    cid = consent["consent_id"]
    fields = hidden_fields(open_receipt(client, cid, consent["token"]))
    assert fields["token"] == consent["token"]

    changed = client.post(
        f"/{SITE}/cookies/preferences?lang=en",
        data=fields | {"action": "custom", "purpose-analytics": "on"},
    )
    assert changed.status_code == 303
    assert changed.headers["Location"] == f"{page_url(cid)}?lang=en&saved=1#preferences"
    markup = client.get(changed.headers["Location"]).get_data(as_text=True)
    assert "Your choice has been saved." in markup
    assert 'name="purpose-analytics" checked' in markup
    assert 'name="purpose-statistics" checked' not in markup

    withdrawn = client.post(
        f"/{SITE}/cookies/preferences?lang=en",
        data=hidden_fields(markup) | {"action": "withdraw"},
    )
    assert withdrawn.status_code == 303
    markup = client.get(withdrawn.headers["Location"]).get_data(as_text=True)
    assert "Withdrawn: no optional purpose is allowed." in markup
    assert 'value="withdraw"' not in markup, "nothing is left to withdraw"

    logged = history(db_app, cid)
    assert [item.event.action for item in logged] == ["accept_all", "custom", "withdraw"]
    assert [item.event.source for item in logged] == ["api", "preferences_page", "preferences_page"]
    assert not any(logged[-1].event.choices[purpose] for purpose in OPTIONAL)
    assert logged[-1].event.choices["necessary"] is True
    # The no-JavaScript cookie now holds this consent too.
    cookie = client.get_cookie(f"zgoda_consent_{SITE}")
    assert cookie is not None and ConsentTokens.peek(cookie.value)["cid"] == cid


def test_withdrawing_on_the_cookie_policy_keeps_the_cookie_consent(db_app: Flask) -> None:
    client = db_app.test_client()
    fields = hidden_fields(client.get(f"/{SITE}/cookies?lang=en").get_data(as_text=True))
    assert 'value="withdraw"' not in client.get(f"/{SITE}/cookies?lang=en").get_data(as_text=True)
    client.post(f"/{SITE}/cookies/preferences", data=fields | {"action": "accept_all"})
    markup = client.get(f"/{SITE}/cookies?lang=en").get_data(as_text=True)
    assert "Withdraw all consents" in markup
    response = client.post(
        f"/{SITE}/cookies/preferences?lang=en", data=hidden_fields(markup) | {"action": "withdraw"}
    )
    assert response.headers["Location"].endswith(f"/{SITE}/cookies?lang=en&saved=1#preferences")
    cookie = client.get_cookie(f"zgoda_consent_{SITE}")
    assert cookie is not None
    cid = ConsentTokens.peek(cookie.value)["cid"]
    assert [item.event.action for item in history(db_app, cid)] == ["accept_all", "withdraw"]


def test_a_tampered_token_in_the_form_is_refused(db_app: Flask) -> None:
    client = db_app.test_client()
    consent = record(client)
    fields = hidden_fields(open_receipt(client, consent["consent_id"], consent["token"]))
    response = client.post(
        f"/{SITE}/cookies/preferences",
        data=fields | {"token": flip(consent["token"], 3), "action": "withdraw"},
    )
    assert response.status_code == 400
    assert len(history(db_app, consent["consent_id"])) == 1

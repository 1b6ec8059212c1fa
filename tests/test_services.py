"""Per-service choices: notice rules, the choice rules, the banner and the token (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import NOTICES_DIR, SITES
from tests.test_api import OPTIONAL, SERVICES, SITE, banner, post_consent, record, verify
from zgoda.consent import ConsentRequest, PurposeChoice, purpose_choice, rules_for
from zgoda.consent.rules import decide_choices
from zgoda.consent.tokens import ConsentTokens
from zgoda.errors import InvalidConsent, NoticeError
from zgoda.notices.loader import content_hash, load_notice

FACEBOOK, LINKEDIN, GOOGLE = (
    f"advertising.{s}" for s in ("facebook_ads", "linkedin_ads", "google_ads")
)
OTHERS = OPTIONAL - {"advertising"}
TWITTER = (
    "        - name: Twitter\n          provider: Twitter\n          party: third\n"
    "          duration: *advertising_duration_not_stated\n"
)


def services_yaml(*ids: str) -> str:
    return "      services:\n" + "".join(
        f"        - {{id: {i}, name: X, provider: Y}}\n" for i in ids
    )


def load_edited(notices_copy: Path, old: str, new: str) -> None:
    path = notices_copy / SITE / "notice.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    load_notice(path.parent)


# --- the notice --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "field", "problem"),
    [
        (  # necessary's last cookie is followed by statistics
            "    - id: statistics\n",
            services_yaml("zgoda") + "    - id: statistics\n",
            "cookies.purposes.0.services",
            "a required purpose is always on",
        ),
        (
            TWITTER,
            TWITTER + services_yaml("google_ads"),
            "cookies.purposes.6.services.0.id",
            "service id 'google_ads' is already used under purpose 'advertising'",
        ),
        (
            "id: google_ads",
            "id: " + "g" * 53,  # "advertising." is 12: 65 characters
            "cookies.purposes.5.services",
            "is 65 characters long",
        ),
        ("id: google_ads", "id: Google Ads", "cookies.purposes.5.services.2.id", "pattern"),
    ],
    ids=["under-a-required-purpose", "duplicate-id", "key-too-long", "not-a-slug"],
)
def test_a_notice_with_misplaced_services_is_refused_naming_file_and_field(
    notices_copy: Path, old: str, new: str, field: str, problem: str
) -> None:
    with pytest.raises(NoticeError) as raised:
        load_edited(notices_copy, old, new)
    error = raised.value
    assert error.path == notices_copy / SITE / "notice.yaml" and error.line
    assert error.field == field and problem in error.problem


def test_a_key_of_exactly_64_characters_is_allowed(notices_copy: Path) -> None:
    load_edited(notices_copy, "id: google_ads", "id: " + "g" * 52)


@pytest.mark.parametrize("site", [s for s in SITES if s != SITE])
def test_a_notice_without_services_dumps_hashes_and_versions_as_before(site: str) -> None:
    loaded = load_notice(NOTICES_DIR / site)
    assert not any(purpose.services for purpose in loaded.notice.cookies.purposes)
    dump = loaded.notice.model_dump(mode="json")
    assert all("services" not in purpose for purpose in dump["cookies"]["purposes"])
    # The version is the hash of the dump without the field services added.
    without = loaded.notice.model_dump(
        mode="json", exclude={"cookies": {"purposes": {"__all__": {"services"}}}}
    )
    assert loaded.version == content_hash(without) == content_hash(dump)


# --- the choice rules --------------------------------------------------------------------


def decide(action: str, choices: dict[str, bool] | None = None) -> dict[str, bool]:
    loaded = load_notice(NOTICES_DIR / SITE)
    body = {"action": action, "notice_version": loaded.version, "locale": "en"}
    request = ConsentRequest.model_validate(body | {"choices": choices})
    return decide_choices(rules_for(loaded), request)


def custom(**advertising: bool) -> dict[str, bool]:
    """A custom choice refusing every purpose but advertising, decided by `advertising`."""
    sent = dict.fromkeys(OTHERS, False)
    for key, value in advertising.items():
        sent["advertising" if key == "purpose" else f"advertising.{key}"] = value
    return decide("custom", sent)


def advertising_of(choices: dict[str, bool]) -> dict[str, bool]:
    return {k: v for k, v in choices.items() if k == "advertising" or k.startswith("advertising.")}


@pytest.mark.parametrize(("action", "granted"), [("accept_all", True), ("reject_all", False)])
def test_accept_and_reject_all_set_each_purpose_and_each_service(
    action: str, granted: bool
) -> None:
    choices = decide(action)
    assert list(choices)[5:9] == ["advertising", FACEBOOK, LINKEDIN, GOOGLE]  # purpose first
    assert advertising_of(choices) == dict.fromkeys(["advertising", *SERVICES], granted)
    assert choices["necessary"] is True


def test_all_services_allowed_allow_the_purpose() -> None:
    choices = custom(facebook_ads=True, linkedin_ads=True, google_ads=True)
    assert choices["advertising"] is True


def test_some_services_allowed_leave_the_purpose_partly_on_and_false() -> None:
    choices = custom(facebook_ads=False, linkedin_ads=False, google_ads=True)
    assert advertising_of(choices) == {
        "advertising": False,
        FACEBOOK: False,
        LINKEDIN: False,
        GOOGLE: True,
    }
    purpose = load_notice(NOTICES_DIR / SITE).notice.cookies.purposes[5]
    assert purpose_choice(purpose, choices) is PurposeChoice.PARTLY


@pytest.mark.parametrize("value", [True, False])
def test_a_purpose_sent_alone_decides_its_services(value: bool) -> None:
    assert advertising_of(custom(purpose=value)) == dict.fromkeys(["advertising", *SERVICES], value)


def test_a_service_not_sent_takes_its_purposes_value() -> None:
    choices = custom(purpose=False, google_ads=False)
    assert advertising_of(choices) == dict.fromkeys(["advertising", *SERVICES], False)


@pytest.mark.parametrize(
    "advertising",
    [
        {"purpose": True, "google_ads": False},
        {"purpose": False, "facebook_ads": True, "linkedin_ads": True, "google_ads": True},
    ],
)
def test_a_purpose_contradicting_its_services_is_refused(advertising: dict[str, bool]) -> None:
    with pytest.raises(InvalidConsent, match="contradict for: advertising") as raised:
        custom(**advertising)
    assert raised.value.field == "choices"


@pytest.mark.parametrize(
    ("advertising", "missing"),
    [({}, "advertising"), ({"google_ads": True}, f"{FACEBOOK}, {LINKEDIN}")],
)
def test_a_purpose_decided_neither_way_is_missing(
    advertising: dict[str, bool], missing: str
) -> None:
    with pytest.raises(InvalidConsent, match=f"missing: {missing}$") as raised:
        custom(**advertising)
    assert raised.value.field == "choices"


@pytest.mark.parametrize("key", ["advertising.tiktok_ads", "statistics.google_analytics"])
def test_an_unknown_service_is_refused(key: str) -> None:
    with pytest.raises(InvalidConsent, match=f"unknown purposes or services: {key}"):
        decide("custom", dict.fromkeys(OPTIONAL, False) | {key: False})


def test_accept_all_contradicted_by_a_service_is_refused() -> None:
    with pytest.raises(InvalidConsent, match=f"accept_all contradicts the choices for: {GOOGLE}"):
        decide("accept_all", {GOOGLE: False})


# --- over HTTP: the banner, the record and the token -------------------------------------


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_the_banner_lists_a_purposes_services_in_the_notices_order(
    db_app: Flask, lang: str
) -> None:
    purposes = banner(db_app.test_client(), lang=lang)["purposes"]
    with_services = [p for p in purposes if "services" in p]
    assert [p["id"] for p in with_services] == ["advertising"]
    assert with_services[0]["services"] == [
        {"id": "facebook_ads", "name": "Facebook Ads", "provider": "Facebook", "description": None},
        {"id": "linkedin_ads", "name": "LinkedIn Ads", "provider": "LinkedIn", "description": None},
        {
            "id": "google_ads",
            "name": "Google Ads (Google AdWords)",
            "provider": "Google",
            "description": None,
        },
    ]


def test_the_purpose_hash_covers_its_services(notices_copy: Path) -> None:
    before = rules_for(load_notice(notices_copy / SITE)).hashes
    load_edited(notices_copy, "          name: LinkedIn Ads\n", "          name: LinkedIn\n")
    after = rules_for(load_notice(notices_copy / SITE)).hashes
    assert before["advertising"] != after["advertising"]
    assert {p: h for p, h in before.items() if p != "advertising"} == {
        p: h for p, h in after.items() if p != "advertising"
    }


@pytest.mark.parametrize("site", [s for s in SITES if s != SITE])
def test_a_banner_without_services_has_no_services_key(db_app: Flask, site: str) -> None:
    for lang in ("pl", "en"):
        body = banner(db_app.test_client(), site=site, lang=lang)
        assert "services" not in json.dumps(body["purposes"])
        assert all(
            set(p) == {"id", "name", "description", "required", "hash", "cookies"}
            for p in body["purposes"]
        )


def test_the_record_and_the_token_carry_the_service_keys(db_app: Flask) -> None:
    client = db_app.test_client()
    choices = dict.fromkeys(OTHERS, False) | {FACEBOOK: False, LINKEDIN: True, GOOGLE: True}
    body = record(client, action="custom", choices=choices)
    expected = choices | {"necessary": True, "advertising": False}
    assert body["choices"] == expected
    payload: dict[str, Any] = ConsentTokens.peek(body["token"])
    assert payload["ch"] == {key: int(value) for key, value in expected.items()}
    assert "ad_storage" not in payload["cm"]  # Consent Mode stays per purpose: not all allowed
    checked = verify(client, body["token"])
    assert checked["valid"] and checked["choices"] == expected


def test_a_contradiction_over_http_is_a_422_naming_choices(db_app: Flask) -> None:
    choices = dict.fromkeys(OPTIONAL, False) | {GOOGLE: True, FACEBOOK: True, LINKEDIN: True}
    response = post_consent(db_app.test_client(), action="custom", choices=choices)
    assert response.status_code == 422
    assert response.get_json()["field"] == "choices"
    assert "advertising" in response.get_json()["message"]

"""The consent API over HTTP, on SQLite and PostgreSQL: banner, recording, errors, verifying."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.test import TestResponse

from app import create_app
from zgoda.store import count_events, events_for, iter_events
from zgoda.store.db import engine
from zgoda.store.event import ConsentEvent
from zgoda.store.migrate import upgrade

SITE = "optingo"
OTHER_SITE = "optingo-twin"
REQUIRED = {"necessary"}
OPTIONAL = {
    "statistics",
    "functional",
    "authentication",
    "analytics",
    "advertising",
    "social_media",
}
# optingo lets a visitor choose each remarketing network under advertising.
SERVICES = {"advertising.facebook_ads", "advertising.linkedin_ads", "advertising.google_ads"}
ALLOWED_ORIGIN = "https://shop.example.com"  # outside optingo's embed.domains
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
ERROR_KEYS = {"error", "message", "status", "field", "current_version"}

AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app(database_url: str) -> Iterator[AppFactory]:
    """Apps with extra config on one freshly migrated database (SQLite and PostgreSQL)."""
    apps: list[Flask] = []

    def factory(**config: Any) -> Flask:
        app = create_app(
            {"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": database_url} | config
        )
        upgrade(app)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.extensions["zgoda_db"].dispose()


@pytest.fixture
def two_sites(notices_copy: Path) -> Path:
    """optingo and an identical twin under another site id (no other sites)."""
    for site_dir in notices_copy.iterdir():
        if site_dir.is_dir() and site_dir.name != SITE:
            shutil.rmtree(site_dir)
    shutil.copytree(notices_copy / SITE, notices_copy / OTHER_SITE)
    return notices_copy


def banner(client: FlaskClient, site: str = SITE, **query: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/sites/{site}/banner", query_string=query)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def post_consent(
    client: FlaskClient, site: str = SITE, headers: dict[str, str] | None = None, **fields: Any
) -> TestResponse:
    body = {"notice_version": banner(client, site)["notice_version"], "locale": "en"} | fields
    return client.post(f"/api/v1/sites/{site}/consents", json=body, headers=headers)


def record(client: FlaskClient, site: str = SITE, **fields: Any) -> dict[str, Any]:
    response = post_consent(client, site, **({"action": "accept_all"} | fields))
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def verify(client: FlaskClient, token: str, site: str = SITE) -> dict[str, Any]:
    response = client.post(f"/api/v1/sites/{site}/verify", json={"token": token})
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def logged(app: Flask) -> list[ConsentEvent]:
    with app.app_context():
        return list(iter_events(engine(), SITE))


def assert_error(
    response: TestResponse, status: int, error: str, field: str | None = None
) -> dict[str, Any]:
    """The response is the API's Error: JSON with error, message, status (and field)."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    assert set(body) <= ERROR_KEYS and {"error", "message", "status"} <= set(body)
    assert body["status"] == status and body["error"] == error
    assert isinstance(body["message"], str) and body["message"]
    assert body.get("field") == field
    return body


def flip(token: str, index: int) -> str:
    """The token with one character of its signature changed (not a padding bit)."""
    body, signature = token.rsplit(".", 1)
    replacement = "A" if signature[index] != "A" else "B"
    return f"{body}.{signature[:index]}{replacement}{signature[index + 1 :]}"


# --- the banner configuration ------------------------------------------------------------


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_banner_has_texts_purposes_links_and_versions(db_app: Flask, lang: str) -> None:
    body = banner(db_app.test_client(), lang=lang)
    assert body["site"] == SITE and body["locale"] == lang
    assert len(body["notice_version"]) == 16 and len(body["content_hash"]) == 16
    assert body["consent_lifetime_days"] == 180
    assert body["texts"]["accept_all"] == {"pl": "Akceptuj wszystkie", "en": "Accept all"}[lang]
    purposes = {purpose["id"]: purpose for purpose in body["purposes"]}
    assert set(purposes) == REQUIRED | OPTIONAL
    assert purposes["necessary"]["required"] is True
    assert purposes["statistics"]["required"] is False
    assert purposes["necessary"]["cookies"][0]["name"] == "zgoda_consent"
    assert all(len(purpose["hash"]) == 8 for purpose in body["purposes"])
    assert body["consent_mode"]["statistics"] == ["analytics_storage"]
    assert body["links"]["privacy"] == f"http://localhost/{SITE}/privacy?lang={lang}"
    assert body["links"]["consents"] == f"http://localhost/api/v1/sites/{SITE}/consents"


def test_banner_defaults_to_the_notices_language(db_app: Flask) -> None:
    assert banner(db_app.test_client())["locale"] == "pl"


def test_banner_refuses_an_unknown_language(db_app: Flask) -> None:
    response = db_app.test_client().get(f"/api/v1/sites/{SITE}/banner?lang=de")
    assert "'de'" in assert_error(response, 400, "bad_request", field="lang")["message"]


def test_banner_is_cacheable_and_conditional(db_app: Flask) -> None:
    client = db_app.test_client()
    response = client.get(f"/api/v1/sites/{SITE}/banner?lang=en")
    etag = response.headers["ETag"]
    assert etag.startswith('"') and len(etag) > 2
    assert response.headers["Cache-Control"] == "public, max-age=300"
    unchanged = client.get(f"/api/v1/sites/{SITE}/banner?lang=en", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.data == b""
    assert unchanged.headers["ETag"] == etag
    polish = client.get(f"/api/v1/sites/{SITE}/banner?lang=pl", headers={"If-None-Match": etag})
    assert polish.status_code == 200 and polish.headers["ETag"] != etag


@pytest.mark.parametrize(
    ("if_none_match", "status"),
    [("W/{etag}", 304), ('"other", {etag}', 304), ("*", 304), ('"other"', 200), ('W/"x"', 200)],
)
def test_banner_compares_if_none_match_weakly_and_in_lists(
    db_app: Flask, if_none_match: str, status: int
) -> None:
    client = db_app.test_client()
    etag = client.get(f"/api/v1/sites/{SITE}/banner?lang=en").headers["ETag"]
    header = if_none_match.format(etag=etag)
    response = client.get(f"/api/v1/sites/{SITE}/banner?lang=en", headers={"If-None-Match": header})
    assert response.status_code == status
    assert response.headers["ETag"] == etag
    assert {v.strip() for v in response.headers["Vary"].split(",")} == {"Accept-Encoding", "Origin"}
    assert ("Content-Type" in response.headers) == (status == 200)


def test_cors_only_for_an_allowed_origin(make_app: AppFactory) -> None:
    client = make_app(ALLOWED_ORIGINS=[ALLOWED_ORIGIN]).test_client()
    url = f"/api/v1/sites/{SITE}/banner"
    allowed = client.get(url, headers={"Origin": ALLOWED_ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "Origin" in allowed.headers["Vary"]
    other = client.get(url, headers={"Origin": "https://evil.example"})
    assert other.status_code == 200
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "Origin" in other.headers["Vary"]
    assert "Access-Control-Allow-Origin" not in client.get(url).headers


def test_cors_from_the_notices_embed_allowed_origins(two_sites: Path, make_app: AppFactory) -> None:
    notice = two_sites / SITE / "notice.yaml"
    data = yaml.safe_load(notice.read_text(encoding="utf-8"))
    data.setdefault("embed", {})["allowed_origins"] = [ALLOWED_ORIGIN]
    notice.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    client = make_app(NOTICES_DIR=str(two_sites)).test_client()
    headers = {"Origin": ALLOWED_ORIGIN}
    response = client.get(f"/api/v1/sites/{SITE}/banner", headers=headers)
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    # Another site's notice does not let that origin in.
    twin = client.get(f"/api/v1/sites/{OTHER_SITE}/banner", headers=headers)
    assert "Access-Control-Allow-Origin" not in twin.headers


def test_preflight_names_the_methods_for_an_allowed_origin(make_app: AppFactory) -> None:
    client = make_app(ALLOWED_ORIGINS=[ALLOWED_ORIGIN]).test_client()
    response = client.options(
        f"/api/v1/sites/{SITE}/consents",
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert response.headers["Access-Control-Allow-Methods"] == "POST"
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]
    refused = client.options(
        f"/api/v1/sites/{SITE}/consents", headers={"Origin": "https://x.example"}
    )
    assert refused.status_code == 204 and "Access-Control-Allow-Origin" not in refused.headers


def test_errors_carry_cors_headers_so_the_embed_can_read_them(make_app: AppFactory) -> None:
    client = make_app(ALLOWED_ORIGINS=[ALLOWED_ORIGIN]).test_client()
    response = client.post(
        f"/api/v1/sites/{SITE}/consents",
        json={"action": "accept_all", "notice_version": "0" * 16, "locale": "en"},
        headers={"Origin": ALLOWED_ORIGIN},
    )
    assert_error(response, 409, "stale_notice_version", field="notice_version")
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN


# --- recording consent -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "granted"),
    [("accept_all", OPTIONAL), ("reject_all", set()), ("withdraw", set())],
)
def test_each_action_is_recorded(db_app: Flask, action: str, granted: set[str]) -> None:
    body = record(db_app.test_client(), action=action)
    expected = {p: p in REQUIRED | granted for p in REQUIRED | OPTIONAL}
    expected |= dict.fromkeys(SERVICES, "advertising" in granted)
    assert body["choices"] == expected
    assert body["notice_version"] and body["token"] and body["expires_at"].endswith("Z")
    [event] = logged(db_app)
    assert event.action == action and event.choices == expected
    assert event.consent_id == body["consent_id"] and event.source == "api"


def test_a_custom_choice_is_recorded_per_purpose(db_app: Flask) -> None:
    choices = dict.fromkeys(OPTIONAL, False) | {"statistics": True, "functional": True}
    body = record(db_app.test_client(), action="custom", choices=choices, source="banner")
    # The services of a purpose sent alone take its value.
    expected = choices | {"necessary": True} | dict.fromkeys(SERVICES, False)
    assert body["choices"] == expected
    [event] = logged(db_app)
    assert event.choices == expected and event.source == "banner"


def test_required_purposes_are_always_granted(db_app: Flask) -> None:
    client = db_app.test_client()
    custom = dict.fromkeys(OPTIONAL, False) | {"necessary": False}
    assert record(client, action="custom", choices=custom)["choices"]["necessary"] is True
    refused = record(client, action="reject_all", choices={"necessary": False})
    assert refused["choices"]["necessary"] is True
    assert all(event.choices["necessary"] for event in logged(db_app))


def test_the_consent_id_is_kept_when_its_token_is_sent_back(db_app: Flask) -> None:
    client = db_app.test_client()
    first = record(client, action="accept_all")
    again = record(client, action="withdraw", token=first["token"])
    assert again["consent_id"] == first["consent_id"]
    assert verify(client, again["token"])["consent_id"] == first["consent_id"]
    with db_app.app_context():
        history = events_for(engine(), SITE, first["consent_id"])
    assert [event.action for event in history] == ["accept_all", "withdraw"]
    assert record(client)["consent_id"] != first["consent_id"]


def test_the_log_keeps_what_was_shown(db_app: Flask) -> None:
    client = db_app.test_client()
    shown = banner(client, lang="en")
    record(client, locale="en")
    [event] = logged(db_app)
    assert event.notice_version == shown["notice_version"]
    assert event.content_hash == shown["content_hash"]
    assert event.locale == "en"
    assert event.expires_at > event.recorded_at


@pytest.mark.parametrize(
    ("address", "network"),
    [("203.0.113.77", "203.0.113.0/24"), ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::/48")],
)
def test_the_log_keeps_only_the_network(db_app: Flask, address: str, network: str) -> None:
    client = db_app.test_client()
    version = banner(client)["notice_version"]
    response = client.post(
        f"/api/v1/sites/{SITE}/consents",
        json={"action": "accept_all", "notice_version": version, "locale": "pl"},
        environ_base={"REMOTE_ADDR": address},
    )
    assert response.status_code == 201
    [event] = logged(db_app)
    assert event.ip_prefix == network
    assert address not in repr(event)


def test_ip_address_mode_drop_keeps_nothing(make_app: AppFactory) -> None:
    app = make_app(IP_ADDRESS_MODE="drop")
    client = app.test_client()
    version = banner(client)["notice_version"]
    response = client.post(
        f"/api/v1/sites/{SITE}/consents",
        json={"action": "accept_all", "notice_version": version, "locale": "pl"},
        environ_base={"REMOTE_ADDR": "203.0.113.77"},
    )
    assert response.status_code == 201
    [event] = logged(app)
    assert event.ip_prefix is None


def test_the_log_keeps_the_browser_family_not_the_user_agent(db_app: Flask) -> None:
    response = post_consent(
        db_app.test_client(), action="accept_all", headers={"User-Agent": FIREFOX}
    )
    assert response.status_code == 201
    [event] = logged(db_app)
    assert event.user_agent_family == "Firefox"
    assert not any(
        "Gecko" in str(value) or "rv:128" in str(value) for value in vars(event).values()
    )


@pytest.mark.parametrize(("headers", "gpc"), [({"Sec-GPC": "1"}, True), ({}, False)])
def test_the_log_keeps_the_gpc_signal(db_app: Flask, headers: dict[str, str], gpc: bool) -> None:
    response = post_consent(db_app.test_client(), action="reject_all", headers=headers)
    assert response.status_code == 201
    [event] = logged(db_app)
    assert event.gpc is gpc
    assert verify(db_app.test_client(), response.get_json()["token"])["gpc"] is gpc


# --- refusing what does not fit ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "error", "field", "names"),
    [
        (
            {"action": "accept_all", "choices": {"cookies-of-doom": True}},
            "invalid_consent",
            "choices",
            "cookies-of-doom",
        ),
        (
            {"action": "custom", "choices": {"statistics": True}},
            "invalid_consent",
            "choices",
            "advertising",
        ),
        ({"action": "custom"}, "invalid_consent", "choices", "analytics"),
        (
            {"action": "accept_all", "choices": {"statistics": False}},
            "invalid_consent",
            "choices",
            "statistics",
        ),
        (
            {"action": "reject_all", "choices": {"advertising": True}},
            "invalid_consent",
            "choices",
            "advertising",
        ),
        (
            {"action": "custom", "choices": {"statistics": "yes"}},
            "validation_error",
            "choices.statistics",
            "bool",
        ),
        (
            {"action": "custom", "choices": {"statistics": 1}},
            "validation_error",
            "choices.statistics",
            "bool",
        ),
        ({"action": "maybe"}, "validation_error", "action", "accept_all"),
        ({"action": "accept_all", "locale": "de"}, "validation_error", "locale", "'pl'"),
        (
            {"action": "accept_all", "consent_id": "6f1c1c8e-8d3e-4b8e-9d7a-0b1f2b3c4d5e"},
            "validation_error",
            "consent_id",
            "send the visitor's previous token as `token`",
        ),
        ({"action": "accept_all", "token": ""}, "validation_error", "token", "at least 1"),
        ({"action": "accept_all", "token": 7}, "validation_error", "token", "string"),
        (
            {"action": "accept_all", "referrer": "x"},
            "validation_error",
            "referrer",
            "not permitted; the body takes action, notice_version, locale, choices, token",
        ),
    ],
)
def test_a_consent_that_does_not_fit_is_refused_and_not_recorded(
    db_app: Flask, fields: dict[str, Any], error: str, field: str, names: str
) -> None:
    response = post_consent(db_app.test_client(), **fields)
    assert names in assert_error(response, 422, error, field=field)["message"]
    with db_app.app_context():
        assert count_events(engine()) == 0


def test_a_missing_field_is_named(db_app: Flask) -> None:
    response = db_app.test_client().post(
        f"/api/v1/sites/{SITE}/consents", json={"action": "accept_all", "locale": "pl"}
    )
    assert_error(response, 422, "validation_error", field="notice_version")


@pytest.mark.parametrize("body", [[1, 2], "accept_all", 3])
def test_a_body_that_is_not_an_object_is_refused(db_app: Flask, body: Any) -> None:
    response = db_app.test_client().post(f"/api/v1/sites/{SITE}/consents", json=body)
    assert_error(response, 422, "validation_error", field="body")


@pytest.mark.parametrize("path", ["banner", "consents", "verify"])
def test_an_unknown_site_is_a_json_404(db_app: Flask, path: str) -> None:
    client = db_app.test_client()
    method = client.get if path == "banner" else client.post
    response = method(f"/api/v1/sites/no-such-site/{path}", json={})
    assert_error(response, 404, "not_found")
    assert "'no-such-site'" in response.get_json()["message"]


def test_an_unknown_api_path_is_a_json_404(db_app: Flask) -> None:
    assert_error(db_app.test_client().get("/api/v1/nothing-here"), 404, "not_found")


def test_a_wrong_method_is_a_json_405_with_allow(db_app: Flask) -> None:
    response = db_app.test_client().delete(f"/api/v1/sites/{SITE}/consents")
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}


def test_a_stale_notice_version_is_a_409_naming_the_current_one(db_app: Flask) -> None:
    client = db_app.test_client()
    current = banner(client)["notice_version"]
    response = post_consent(client, action="accept_all", notice_version="0123456789abcdef")
    body = assert_error(response, 409, "stale_notice_version", field="notice_version")
    assert body["current_version"] == current
    with db_app.app_context():
        assert count_events(engine()) == 0


def test_a_body_over_max_content_length_is_a_413(make_app: AppFactory) -> None:
    client = make_app(MAX_CONTENT_LENGTH=1024).test_client()
    version = banner(client)["notice_version"]
    padding = {f"purpose-{n}": True for n in range(100)}
    body = {"action": "custom", "notice_version": version, "locale": "pl", "choices": padding}
    response = client.post(f"/api/v1/sites/{SITE}/consents", json=body)
    assert_error(response, 413, "request_entity_too_large")


def test_the_default_max_content_length_refuses_large_bodies(db_app: Flask) -> None:
    response = db_app.test_client().post(
        f"/api/v1/sites/{SITE}/verify", json={"token": "x" * (20 * 1024)}
    )
    assert_error(response, 413, "request_entity_too_large")


@pytest.mark.parametrize(
    ("data", "content_type"),
    [("action=accept_all", "application/x-www-form-urlencoded"), ('{"action": 1}', "text/plain")],
)
def test_a_body_that_is_not_json_is_a_415(db_app: Flask, data: str, content_type: str) -> None:
    response = db_app.test_client().post(
        f"/api/v1/sites/{SITE}/consents", data=data, content_type=content_type
    )
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("data", ['{"action": "accept_all",', "", "null"])
def test_malformed_json_is_a_400(db_app: Flask, data: str) -> None:
    response = db_app.test_client().post(
        f"/api/v1/sites/{SITE}/consents", data=data, content_type="application/json"
    )
    assert_error(response, 400, "bad_request", field="body")


def test_consent_writes_are_rate_limited(make_app: AppFactory) -> None:
    app = make_app(CONSENT_RATE_LIMIT="3 per minute")
    client = app.test_client()
    statuses = [post_consent(client, action="accept_all").status_code for _ in range(3)]
    assert statuses == [201, 201, 201]
    limited = post_consent(client, action="accept_all")
    assert_error(limited, 429, "too_many_requests")
    assert int(limited.headers["Retry-After"]) > 0
    preflight = client.options(f"/api/v1/sites/{SITE}/consents")
    assert preflight.status_code == 204  # preflights are not counted
    assert banner(client)  # reading is not limited
    with app.app_context():
        assert count_events(engine()) == 3


# --- verifying tokens ----------------------------------------------------------------------


def test_a_fresh_token_is_valid(db_app: Flask) -> None:
    client = db_app.test_client()
    recorded = record(
        client, action="custom", choices=dict.fromkeys(OPTIONAL, False) | {"analytics": True}
    )
    result = verify(client, recorded["token"])
    assert result["status"] == "valid" and result["valid"] is True
    assert result["consent_id"] == recorded["consent_id"]
    assert result["choices"] == recorded["choices"]
    assert result["changed_purposes"] == []
    assert result["notice_version"] == result["current_notice_version"]
    assert result["expires_at"] == recorded["expires_at"].split(".")[0].removesuffix("Z") + "Z"


def test_a_token_for_an_older_notice_is_stale(two_sites: Path, make_app: AppFactory) -> None:
    before = make_app(NOTICES_DIR=str(two_sites))
    token = record(before.test_client())["token"]
    notice = two_sites / SITE / "notice.yaml"
    text = notice.read_text(encoding="utf-8")
    old = "en: Collecting statistics on how the website and services are used."
    assert old in text
    notice.write_text(
        text.replace(old, "en: Counting visits with a self-hosted tool."), encoding="utf-8"
    )
    after = make_app(NOTICES_DIR=str(two_sites))
    result = verify(after.test_client(), token)
    assert result["status"] == "stale" and result["valid"] is False
    assert result["changed_purposes"] == ["statistics"]
    assert result["notice_version"] != result["current_notice_version"]
    assert result["current_notice_version"] == banner(after.test_client())["notice_version"]


def test_a_token_past_the_consent_lifetime_has_expired(
    db_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = db_app.test_client()
    token = record(client)["token"]
    later = time.time() + 181 * 24 * 3600  # the lifetime is six months of 30 days
    with monkeypatch.context() as frozen:
        frozen.setattr(time, "time", lambda: later)
        result = verify(client, token)
    assert result == {"valid": False, "status": "expired", "message": "the consent has expired"}


def test_a_token_signed_long_ago_has_expired(
    db_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = db_app.test_client()
    long_ago = time.time() - 200 * 24 * 3600
    with monkeypatch.context() as frozen:
        frozen.setattr(time, "time", lambda: long_ago)  # itsdangerous stamps with time.time()
        token = record(client)["token"]
    assert verify(client, token)["status"] == "expired"


def test_a_changed_signature_is_forged(db_app: Flask) -> None:
    client = db_app.test_client()
    token = record(client)["token"]
    assert verify(client, flip(token, 10))["status"] == "forged"
    assert verify(client, token)["status"] == "valid"


@pytest.mark.parametrize("token", ["abc", "a.b.c", "WzFd.x.y"])
def test_a_malformed_token_is_named_so(db_app: Flask, token: str) -> None:
    result = verify(db_app.test_client(), token)
    assert result["status"] == "malformed" and result["valid"] is False


def test_another_sites_token_is_named_so(two_sites: Path, make_app: AppFactory) -> None:
    client = make_app(NOTICES_DIR=str(two_sites)).test_client()
    token = record(client, site=OTHER_SITE)["token"]
    assert verify(client, token, site=OTHER_SITE)["status"] == "valid"
    assert verify(client, token, site=SITE)["status"] == "other_site"


def test_a_token_keeps_verifying_after_a_key_rotation(make_app: AppFactory) -> None:
    token = record(make_app(SECRET_KEY="old-secret").test_client())["token"]
    rotated = make_app(SECRET_KEY="new-secret", SECRET_KEY_FALLBACKS=["old-secret"])
    assert verify(rotated.test_client(), token)["status"] == "valid"
    dropped = make_app(SECRET_KEY="new-secret")
    assert verify(dropped.test_client(), token)["status"] == "forged"


@pytest.mark.parametrize(
    ("body", "field"), [({}, "token"), ({"token": ""}, "token"), ({"token": "a", "x": 1}, "x")]
)
def test_a_verify_body_that_does_not_fit_is_a_422(
    db_app: Flask, body: dict[str, Any], field: str
) -> None:
    response = db_app.test_client().post(f"/api/v1/sites/{SITE}/verify", json=body)
    assert_error(response, 422, "validation_error", field=field)


def test_an_unreachable_log_is_a_503_that_records_nothing(db_app: Flask) -> None:
    with db_app.app_context():
        bound = engine()
    with bound.begin() as connection:
        connection.execute(text("DROP TABLE consent_events"))  # as a broken database would
    response = post_consent(db_app.test_client(), action="accept_all")
    body = assert_error(response, 503, "storage_unavailable")
    assert "nothing was recorded" in body["message"]
    assert response.headers["Retry-After"] == "5"
    with bound.connect() as connection:  # the transaction rolled back: no chain head moved
        assert connection.execute(text("SELECT count(*) FROM chain_heads")).scalar_one() == 0


@pytest.mark.parametrize(
    "unreachable",
    ["postgresql+psycopg://postgres@127.0.0.1:9/test", "sqlite:////nonexistent-dir/zgoda.sqlite3"],
)
def test_a_log_that_cannot_be_connected_to_is_a_503_not_a_hang(unreachable: str) -> None:
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": unreachable})
    version = app.extensions["zgoda_notices"].notices[SITE].version
    body = {"action": "accept_all", "notice_version": version, "locale": "pl"}
    outcomes: list[int] = []
    # Several at once: those queued behind the failing leader must be answered too.
    threads = [
        threading.Thread(
            target=lambda: outcomes.append(
                app.test_client().post(f"/api/v1/sites/{SITE}/consents", json=body).status_code
            ),
            daemon=True,  # a request left waiting fails the test instead of hanging the run
        )
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes == [503] * 6
    app.extensions["zgoda_db"].dispose()

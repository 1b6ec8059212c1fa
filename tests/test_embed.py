"""The embed's URLs, its size budget, the README's pinned tag, the demo page, and what the
consent API does for the embed (GPC from the body, Consent Mode state in the token)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from app import create_app
from tests.conftest import ROOT
from zgoda import __version__
from zgoda.consent import granted_consent_types
from zgoda.store.migrate import upgrade
from zgoda.web.embed import PINNED_MAX_AGE, STABLE_MAX_AGE, EmbedBundle, build_bundle, minify_css

BUDGET_BYTES = 6 * 1024  # JS + CSS, gzip -9


@pytest.fixture
def bundle(app: Flask) -> EmbedBundle:
    built: EmbedBundle = app.extensions["zgoda_embed"]
    return built


def test_the_bundle_inlines_the_minified_css_and_fits_the_size_budget(bundle: EmbedBundle) -> None:
    source = bundle.source.decode("utf-8")
    assert "__ZGODA_CSS__" not in source
    assert ":host{all:initial!important}" in source
    assert len(gzip.compress(bundle.source, compresslevel=9)) <= BUDGET_BYTES
    assert gzip.decompress(bundle.gzipped) == bundle.source
    assert bundle == build_bundle()  # deterministic: same files, same hash


def test_minify_css_keeps_the_rules() -> None:
    css = "/* note */\n.a > b ,\n.c {\n  color: red;\n  margin: 0 auto;\n}\n"
    assert minify_css(css) == ".a>b,.c{color:red;margin:0 auto}"


def test_the_stable_url_is_cached_briefly_and_readable_cross_origin(
    client: FlaskClient, bundle: EmbedBundle
) -> None:
    response = client.get("/embed.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.data == bundle.source
    assert response.cache_control.max_age == STABLE_MAX_AGE
    assert not response.cache_control.immutable
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    etag = response.headers["ETag"]
    assert client.get("/embed.js", headers={"If-None-Match": etag}).status_code == 304


def test_the_pinned_url_is_immutable_and_matches_its_integrity_hash(
    client: FlaskClient, bundle: EmbedBundle
) -> None:
    response = client.get(f"/embed.{bundle.digest}.js")
    assert response.status_code == 200
    assert response.cache_control.max_age == PINNED_MAX_AGE
    assert response.cache_control.immutable
    sri = "sha384-" + base64.b64encode(hashlib.sha384(response.data).digest()).decode()
    assert sri == bundle.integrity
    assert client.get("/embed.0123456789abcdef.js").status_code == 404


def test_the_script_is_sent_gzipped_to_browsers_that_accept_it(
    client: FlaskClient, bundle: EmbedBundle
) -> None:
    response = client.get("/embed.js", headers={"Accept-Encoding": "gzip, br"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert gzip.decompress(response.data) == bundle.source


def test_the_readme_gives_the_current_pinned_url_and_integrity(bundle: EmbedBundle) -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert f"/embed.{bundle.digest}.js" in readme, (
        "README's pinned embed URL is out of date: `flask --app app embed tag optingo` prints it"
    )
    assert bundle.integrity in readme


def test_the_cli_prints_the_pinned_tag(runner: FlaskCliRunner, bundle: EmbedBundle) -> None:
    result = runner.invoke(args=["embed", "tag", "optingo", "--base-url", "https://c.example/"])
    assert result.exit_code == 0
    assert result.output.strip() == (
        f'<script src="https://c.example/embed.{bundle.digest}.js" '
        f'integrity="{bundle.integrity}" crossorigin="anonymous" data-site="optingo" async></script>'
    )


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_the_demo_page_embeds_the_pinned_script_and_two_gated_tags(
    client: FlaskClient, bundle: EmbedBundle, lang: str
) -> None:
    response = client.get(f"/demo/optingo?lang={lang}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in page
    assert f'src="/embed.{bundle.digest}.js" integrity="{bundle.integrity}"' in page
    assert 'data-site="optingo"' in page
    gated = re.findall(
        r'<script type="text/plain" data-zgoda-purpose="(\w+)" data-src="([^"]+)"', page
    )
    assert gated == [
        ("statistics", "/static/demo/statistics.js"),
        ("advertising", "/static/demo/ads.js"),
    ]
    for _, src in gated:
        with client.get(src) as tag:
            assert tag.status_code == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<script>" not in page and " style=" not in page  # the strict CSP holds


def test_the_demo_page_of_an_unknown_site_is_not_found(client: FlaskClient) -> None:
    assert client.get("/demo/no-such-site").status_code == 404


# --- what the consent API does for the embed --------------------------------------------------


def record(
    client: FlaskClient, headers: dict[str, str] | None = None, **body: Any
) -> dict[str, Any]:
    version = client.get("/api/v1/sites/optingo/banner?lang=en").get_json()["notice_version"]
    response = client.post(
        "/api/v1/sites/optingo/consents",
        json={"notice_version": version, "locale": "en", "source": "banner"} | body,
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    answer: dict[str, Any] = response.get_json()
    return answer


def token_payload(token: str) -> dict[str, Any]:
    encoded = token.split(".")[0]
    payload: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    )
    return payload


@pytest.fixture
def log_app(tmp_path: Path) -> Iterator[Flask]:
    """An app with its own consent log in tmp_path."""
    database = f"sqlite:///{tmp_path / 'zgoda.sqlite3'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": database})
    upgrade(app)
    yield app
    app.extensions["zgoda_db"].dispose()


def test_the_gpc_flag_in_the_body_is_recorded(log_app: Flask) -> None:
    client = log_app.test_client()
    with_flag = record(client, action="reject_all", gpc=True)
    with_header = record(client, headers={"Sec-GPC": "1"}, action="reject_all")
    without = record(client, action="reject_all")
    assert token_payload(with_flag["token"])["gpc"] == 1
    assert token_payload(with_header["token"])["gpc"] == 1
    assert token_payload(without["token"])["gpc"] == 0


def test_the_token_carries_the_consent_mode_types_the_choice_grants(log_app: Flask) -> None:
    client = log_app.test_client()
    choices = {p: p == "statistics" for p in ("statistics", "functional", "authentication")}
    choices |= {"analytics": False, "advertising": False, "social_media": False}
    payload = token_payload(record(client, action="custom", choices=choices)["token"])
    assert payload["cm"] == ["analytics_storage", "security_storage"]
    every = token_payload(record(client, action="accept_all")["token"])
    assert every["cm"] == [
        "ad_personalization",
        "ad_storage",
        "ad_user_data",
        "analytics_storage",
        "security_storage",
    ]


def test_security_storage_follows_a_purpose_that_governs_it() -> None:
    mapping = {"statistics": ["analytics_storage"], "authentication": ["security_storage"]}
    assert granted_consent_types({"statistics": True, "authentication": False}, mapping) == [
        "analytics_storage"
    ]
    assert granted_consent_types({"authentication": True}, mapping) == ["security_storage"]
    assert granted_consent_types({}, {}) == ["security_storage"]


def test_the_bundle_says_which_release_served_it(bundle: EmbedBundle) -> None:
    source = bundle.source.decode("utf-8")
    assert f'version:"{__version__}"' in source
    assert "__ZGODA_VERSION__" not in source

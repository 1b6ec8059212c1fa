"""The per-site embed script: the generic bundle with one site's banners built in."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from zgoda.web.embed import STABLE_MAX_AGE, build_bundle

SITE = "optingo"
PLACEHOLDER = b'"__ZGODA_SITE__"'


def built_in_text(source: bytes) -> str:
    """The JSON text the per-site script carries where the generic bundle has its placeholder."""
    generic = build_bundle().source
    start = generic.find(PLACEHOLDER)
    assert start >= 0, "no SITE placeholder in the generic bundle"
    assert source[:start] == generic[:start], "the scripts differ before the placeholder"
    text, offset = source.decode("utf-8"), len(source[:start].decode("utf-8"))
    _, end = json.JSONDecoder().raw_decode(text, offset)
    return text[offset:end]


def built_in(source: bytes) -> dict[str, Any]:
    """The site object the per-site script carries in place of its placeholder."""
    value: dict[str, Any] = json.loads(built_in_text(source))
    return value


def test_the_script_carries_the_apis_banners_in_both_languages(client: FlaskClient) -> None:
    response = client.get(f"/embed/{SITE}.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    site = built_in(response.data)
    assert site["site"] == SITE and site["locale"] == "pl"
    for lang in ("pl", "en"):
        fetched = client.get(f"/api/v1/sites/{SITE}/banner?lang={lang}").get_json()
        assert site["banners"][lang] == fetched
    # The rest is the generic embed: only the placeholder differs.
    generic = client.get("/embed.js").data
    assert b'"__ZGODA_SITE__"' in generic and b"__ZGODA_SITE__" not in response.data
    inline = built_in_text(response.data).encode("utf-8")
    assert response.data.replace(inline, b'"__ZGODA_SITE__"') == generic


def test_the_stable_url_is_cached_briefly_and_the_pinned_one_for_a_year(
    client: FlaskClient,
) -> None:
    stable = client.get(f"/embed/{SITE}.js")
    assert stable.cache_control.max_age == STABLE_MAX_AGE and not stable.cache_control.immutable
    assert stable.headers["Access-Control-Allow-Origin"] == "*"
    digest = hashlib.sha256(stable.data).hexdigest()[:16]
    pinned = client.get(f"/embed/{SITE}.{digest}.js")
    assert pinned.status_code == 200 and pinned.data == stable.data
    assert pinned.cache_control.immutable and pinned.cache_control.max_age == 365 * 24 * 3600
    integrity = base64.b64encode(hashlib.sha384(pinned.data).digest()).decode()
    assert client.get(f"/embed/{SITE}.{'0' * 16}.js").status_code == 404
    assert client.application.extensions["zgoda_site_embeds"]
    bundle = next(iter(client.application.extensions["zgoda_site_embeds"].values()))
    assert bundle.integrity == f"sha384-{integrity}"


def test_it_is_gzipped_for_browsers_that_accept_it_and_conditional(client: FlaskClient) -> None:
    plain = client.get(f"/embed/{SITE}.js")
    packed = client.get(f"/embed/{SITE}.js", headers={"Accept-Encoding": "gzip"})
    assert packed.content_encoding == "gzip" and gzip.decompress(packed.data) == plain.data
    assert "Accept-Encoding" in packed.headers["Vary"]
    again = client.get(
        f"/embed/{SITE}.js",
        headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]},
    )
    assert again.status_code == 304 and again.data == b""


def test_an_unknown_site_is_not_found(client: FlaskClient) -> None:
    assert client.get("/embed/nosuchsite.js").status_code == 404
    assert client.get("/embed/nosuchsite.0123456789abcdef.js").status_code == 404


def test_a_new_notice_version_gives_a_new_script(notices_copy: Path) -> None:
    def script(app: Flask) -> bytes:
        return app.test_client().get(f"/embed/{SITE}.js").data

    config = {"TESTING": True, "SECRET_KEY": "test-secret", "NOTICES_DIR": str(notices_copy)}
    before = script(create_app(config))
    path = notices_copy / SITE / "notice.yaml"
    notice = yaml.safe_load(path.read_text("utf-8"))
    notice["site_name"] = "Optingo (renamed)"
    path.write_text(yaml.safe_dump(notice, allow_unicode=True), "utf-8")
    after = script(create_app(config))
    assert before != after
    assert "Optingo (renamed)" in built_in(after)["banners"]["en"]["site_name"]
    assert (
        built_in(after)["banners"]["en"]["notice_version"]
        != built_in(before)["banners"]["en"]["notice_version"]
    )

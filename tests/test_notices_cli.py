"""Starting a notice (`notices new`), its format (`notices schema`), and the notice's own
domains letting their pages call the API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from app import create_app
from zgoda.notices.check import GAP_OF_ITEM
from zgoda.notices.model import Notice

BANNER = "/api/v1/sites/optingo/banner"


# --- the notice's own domains ------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [
        "https://optingo.eu",
        "https://www.optingo.eu",
        "https://shop.eu.optingo.digital",
        "https://optingo.digital:8443",
    ],
)
def test_https_pages_on_the_notices_domains_may_call_the_api(
    client: FlaskClient, origin: str
) -> None:
    response = client.get(BANNER, headers={"Origin": origin})
    assert response.headers["Access-Control-Allow-Origin"] == origin
    preflight = client.options(
        "/api/v1/sites/optingo/consents",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == origin


@pytest.mark.parametrize(
    "origin",
    [
        "http://optingo.eu",  # not https
        "https://evil-optingo.eu",  # not a subdomain
        "https://optingo.eu.evil.example",
        "https://optingo.eu/path",
        "https://user@optingo.eu",
        "https://optingo.eu:notaport",
        "null",
    ],
)
def test_other_origins_are_not_let_in_by_the_domains(client: FlaskClient, origin: str) -> None:
    response = client.get(BANNER, headers={"Origin": origin})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_another_sites_domains_do_not_let_an_origin_in(client: FlaskClient) -> None:
    response = client.get("/api/v1/sites/xopero/banner", headers={"Origin": "https://optingo.eu"})
    assert "Access-Control-Allow-Origin" not in response.headers


# --- notices new -------------------------------------------------------------------------


def app_for(notices_dir: Path) -> Flask:
    return create_app(
        {"TESTING": True, "SECRET_KEY": "test-secret", "NOTICES_DIR": str(notices_dir)}
    )


def test_new_writes_a_skeleton_that_loads_renders_and_lists_every_gap(notices_copy: Path) -> None:
    result = app_for(notices_copy).test_cli_runner().invoke(args=["notices", "new", "acme"])
    assert result.exit_code == 0, result.output
    path = notices_copy / "acme" / "notice.yaml"
    assert f"Wrote {path}." in result.output
    assert path.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=")

    app = app_for(notices_copy)  # the new site is served from the next start
    client = app.test_client()
    for page in ("/acme/privacy?lang=pl", "/acme/privacy?lang=en", "/acme/cookies"):
        assert client.get(page).status_code == 200, page
    assert client.get("/api/v1/sites/acme/banner").status_code == 200

    gaps = {f.path for f in app.extensions["zgoda_notices"].findings["acme"]}
    for item in GAP_OF_ITEM:
        assert item in gaps
    assert {"purposes[0] (services).legal_bases", "purposes[0] (services).retention"} <= gaps
    assert {"document.version", "document.effective_date", "controller.contact"} <= gaps
    assert "controller.name" in gaps  # a placeholder


def test_new_refuses_an_existing_site(notices_copy: Path) -> None:
    before = (notices_copy / "optingo" / "notice.yaml").read_text(encoding="utf-8")
    result = app_for(notices_copy).test_cli_runner().invoke(args=["notices", "new", "optingo"])
    assert result.exit_code == 1
    assert "site 'optingo' already exists" in result.output
    assert (notices_copy / "optingo" / "notice.yaml").read_text(encoding="utf-8") == before


@pytest.mark.parametrize("site", ["Acme", "acme_shop", "../acme", "acme shop", "."])
def test_new_refuses_a_bad_site_id(notices_copy: Path, site: str) -> None:
    listing = sorted(p.name for p in notices_copy.iterdir())
    result = app_for(notices_copy).test_cli_runner().invoke(args=["notices", "new", site])
    assert result.exit_code == 1
    assert "must match [a-z0-9-]+" in result.output
    assert sorted(p.name for p in notices_copy.iterdir()) == listing


# --- notices schema ----------------------------------------------------------------------


def test_schema_is_the_notice_models_json_schema(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["notices", "schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["properties"] == Notice.model_json_schema()["properties"]
    assert {"controller", "purposes", "cookies"} <= set(schema["required"])

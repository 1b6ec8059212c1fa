"""Configuration: one typed schema of ZGODA_* settings, and no production start without secrets."""

from __future__ import annotations

import re

import pytest

from app import create_app
from tests.conftest import PRODUCTION, ROOT
from zgoda.config import SETTINGS, build_config, settings_table
from zgoda.consent.tokens import site_key
from zgoda.errors import ConfigError
from zgoda.web.tokens_ext import consent_tokens


def test_refuses_to_start_in_production_without_secret_key(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("ZGODA_PUBLIC_URL", "https://consent.example.com")
    with pytest.raises(ConfigError, match="ZGODA_SECRET_KEY is not set"):
        create_app()


def test_refuses_to_start_in_production_without_public_url(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("ZGODA_SECRET_KEY", PRODUCTION["ZGODA_SECRET_KEY"])
    with pytest.raises(ConfigError, match="ZGODA_PUBLIC_URL is not set"):
        create_app()


def test_a_production_app_takes_its_secrets_from_the_environment(
    environ: pytest.MonkeyPatch,
) -> None:
    for name, value in PRODUCTION.items():
        environ.setenv(name, value)
    app = create_app()
    assert app.config["SECRET_KEY"] == PRODUCTION["ZGODA_SECRET_KEY"]
    assert app.config["TRUSTED_HOSTS"] == ["consent.example.com"]


def test_testing_mode_starts_without_secret_key(environ: pytest.MonkeyPatch) -> None:
    app = create_app({"TESTING": True})
    assert app.testing
    assert len(app.config["SECRET_KEY"]) >= 32


def test_overrides_beat_the_environment(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("ZGODA_SECRET_KEY", "from-env-" * 4)
    app = create_app({"TESTING": True, "SECRET_KEY": "override"})
    # What the override changes: the key tokens are signed with.
    with app.app_context():
        signing_key = consent_tokens().keys_for("optingo")[-1]
    assert signing_key == site_key("override", "optingo")
    assert signing_key != site_key("from-env-" * 4, "optingo")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", True), ("true", True), ("Yes", True), ("ON", True)]
    + [("0", False), ("false", False), ("no", False), ("Off", False)],
)
def test_booleans_are_parsed(text: str, expected: bool) -> None:
    assert build_config(environ={"ZGODA_DEBUG": text})["DEBUG"] is expected


def test_max_content_length_is_a_number_and_limits_bodies(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("ZGODA_MAX_CONTENT_LENGTH", "32768")
    app = create_app({"TESTING": True})
    assert app.config["MAX_CONTENT_LENGTH"] == 32768
    client = app.test_client()
    big = client.post("/api/v1/sites/optingo/verify", json={"token": "x" * 40_000})
    assert big.status_code == 413
    assert big.json is not None and big.json["status"] == 413


@pytest.mark.parametrize("text", ["drop", "DROP", " Drop "])
def test_ip_address_mode_is_case_insensitive(text: str) -> None:
    assert build_config(environ={"ZGODA_IP_ADDRESS_MODE": text})["IP_ADDRESS_MODE"] == "drop"


@pytest.mark.parametrize(
    ("variable", "text", "accepted"),
    [
        ("ZGODA_IP_ADDRESS_MODE", "hash", "use one of: truncate, drop"),
        ("ZGODA_DEBUG", "maybe", "use one of 1/0, true/false, yes/no, on/off"),
        ("ZGODA_MAX_CONTENT_LENGTH", "16k", "use a whole number"),
        ("ZGODA_MAX_CONTENT_LENGTH", "10", "at least 1024"),
        ("ZGODA_PROXY_HOPS", "-1", "at least 0"),
        ("ZGODA_CONSENT_RATE_LIMIT", "lots", "use limits like"),
        ("ZGODA_RATELIMIT_STORAGE_URI", "memcached://x", "use memory:// or redis://"),
        ("ZGODA_ALLOWED_ORIGINS", "shop.example", "is not an origin"),
        ("ZGODA_PUBLIC_URL", "https://consent.example/zgoda", "no path"),
        ("ZGODA_BABEL_DEFAULT_LOCALE", "de", "use one of: pl, en"),
        ("ZGODA_DATABASE_URL", "not a url", "use a SQLAlchemy URL"),
    ],
)
def test_an_invalid_value_names_the_variable_and_what_it_accepts(
    variable: str, text: str, accepted: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        build_config(environ={variable: text})
    assert f"{variable}={text!r} is not valid" in raised.value.message
    assert accepted in raised.value.message


def test_an_invalid_value_stops_the_app_factory(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("ZGODA_IP_ADDRESS_MODE", "sometimes")
    with pytest.raises(ConfigError, match="ZGODA_IP_ADDRESS_MODE='sometimes' is not valid"):
        create_app({"TESTING": True})


def test_the_test_suites_own_variables_are_not_settings() -> None:
    config = build_config(environ={"ZGODA_TEST_POSTGRES_URL": "x", "ZGODA_BENCH_POSTGRES_URL": "y"})
    assert "TEST_POSTGRES_URL" not in config


def test_text_overrides_from_code_are_parsed_like_the_environment() -> None:
    assert build_config({"MAX_CONTENT_LENGTH": "2048"})["MAX_CONTENT_LENGTH"] == 2048
    with pytest.raises(ConfigError, match="IP_ADDRESS_MODE='x' is not valid"):
        build_config({"IP_ADDRESS_MODE": "x"}, environ={})


def test_database_url_is_also_read_without_the_prefix() -> None:
    url = "postgresql+psycopg://zgoda@db.internal/zgoda"
    assert build_config(environ={"DATABASE_URL": url})["DATABASE_URL"] == url


def test_the_readme_settings_table_is_the_schema() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    table = settings_table()
    assert table in readme, "README's settings table drifted: paste `python -m zgoda.config`"
    documented = set(re.findall(r"^\| `(ZGODA_[A-Z_]+)`", readme, re.M))
    assert documented == {setting.variable for setting in SETTINGS}

"""Misconfiguration an attacker would profit from: debug mode switched on by "false", a guessable
secret key, a misspelt privacy setting silently ignored. Each stops start-up or does what it says;
before the typed settings, ZGODA_DEBUG=false switched Werkzeug's debugger on (any non-empty text
was true), any secret was accepted, and a misspelt variable was silently ignored."""

from __future__ import annotations

import pytest

from app import create_app
from tests.conftest import PRODUCTION
from zgoda.config import build_config
from zgoda.errors import ConfigError


def test_refuses_a_short_secret_key_in_production(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("ZGODA_PUBLIC_URL", "https://consent.example.com")
    environ.setenv("ZGODA_SECRET_KEY", "changeme")
    with pytest.raises(ConfigError, match="too short to be a secret: use at least 32"):
        create_app()


def test_zgoda_debug_false_is_false(environ: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION.items():
        environ.setenv(name, value)
    environ.setenv("ZGODA_DEBUG", "false")
    app = create_app()
    assert app.debug is False


def test_a_misspelt_setting_stops_start_up() -> None:
    with pytest.raises(ConfigError, match="unknown setting ZGODA_IP_ADRESS_MODE"):
        build_config(environ={"ZGODA_IP_ADRESS_MODE": "drop"})

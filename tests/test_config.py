"""Configuration: environment variables, and no production start without a secret key."""

from __future__ import annotations

import pytest

from app import create_app
from zgoda.errors import ConfigError


def test_refuses_to_start_in_production_without_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZGODA_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="ZGODA_SECRET_KEY is not set"):
        create_app()


def test_secret_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZGODA_SECRET_KEY", "from-env")
    assert create_app().config["SECRET_KEY"] == "from-env"


def test_testing_mode_starts_without_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZGODA_SECRET_KEY", raising=False)
    assert create_app({"TESTING": True}).testing


def test_overrides_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZGODA_SECRET_KEY", "from-env")
    assert create_app({"SECRET_KEY": "override"}).config["SECRET_KEY"] == "override"

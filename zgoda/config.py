"""Configuration: defaults, then ZGODA_* environment variables, then the caller's overrides."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from zgoda.errors import ConfigError

ENV_PREFIX = "ZGODA_"
ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,
    "NOTICES_DIR": str(ROOT / "notices"),
    "BABEL_DEFAULT_LOCALE": "pl",
    "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "translations"),
    "LANGUAGE_COOKIE": "zgoda_lang",
    "LANGUAGE_COOKIE_MAX_AGE": 365 * 24 * 3600,
}


def build_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, overlaid by ZGODA_* environment variables, overlaid by `overrides`."""
    config = dict(DEFAULTS)
    for key, value in os.environ.items():
        if key.startswith(ENV_PREFIX):
            config[key.removeprefix(ENV_PREFIX)] = value
    config.update(overrides or {})
    return config


def require_secret_key(config: dict[str, Any], debug: bool) -> None:
    """Refuse to run outside debug or testing without a secret key."""
    if not config.get("SECRET_KEY") and not (debug or config.get("TESTING")):
        raise ConfigError(
            "ZGODA_SECRET_KEY is not set: set it in the environment to run in production "
            "(or run with --debug for local development)"
        )

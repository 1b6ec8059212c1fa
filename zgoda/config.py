"""Configuration: defaults, then ZGODA_* environment variables, then the caller's overrides."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zgoda.errors import ConfigError

if TYPE_CHECKING:
    from flask import Flask

ENV_PREFIX = "ZGODA_"
ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,
    "NOTICES_DIR": str(ROOT / "notices"),
    "BABEL_DEFAULT_LOCALE": "pl",
    "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "translations"),
    "LANGUAGE_COOKIE": "zgoda_lang",
    "LANGUAGE_COOKIE_MAX_AGE": 365 * 24 * 3600,
    # Storage: SQLite in instance/ unless DATABASE_URL names another database.
    "DATABASE_URL": None,
    # Keys that still verify consent tokens after a rotation (comma-separated in the env).
    "SECRET_KEY_FALLBACKS": [],
    # "truncate": keep the IPv4 /24 or IPv6 /48 network; "drop": keep nothing.
    "IP_ADDRESS_MODE": "truncate",
    # Where consent-write limits are counted: memory:// per process, or redis://host:port
    # to share them between instances (RATELIMIT_KEY_PREFIX keeps apps on one Redis apart).
    "RATELIMIT_STORAGE_URI": "memory://",
    "CONSENT_RATE_LIMIT": "60 per minute",
    # Origins allowed to call the API for every site, besides each notice's own list.
    "ALLOWED_ORIGINS": [],
    "MAX_CONTENT_LENGTH": 16 * 1024,
    "CONSENT_COOKIE": "zgoda_consent",
    # Flask's session cookie only carries the CSRF token of the hosted forms.
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
}

LIST_SETTINGS = ("SECRET_KEY_FALLBACKS", "ALLOWED_ORIGINS")
# Conventional names that deployment tools set without our prefix.
UNPREFIXED = ("DATABASE_URL",)


def build_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, overlaid by ZGODA_* environment variables, overlaid by `overrides`."""
    config = dict(DEFAULTS)
    for key in UNPREFIXED:
        if os.environ.get(key):
            config[key] = os.environ[key]
    for key, value in os.environ.items():
        if key.startswith(ENV_PREFIX):
            setting = key.removeprefix(ENV_PREFIX)
            config[setting] = _split(value) if setting in LIST_SETTINGS else value
    config.update(overrides or {})
    return config


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def ensure_secret_key(app: Flask) -> None:
    """Refuse to run outside debug or testing without a secret key.

    In debug or testing a random key is made for this process only, so tokens
    signed by it stop verifying after a restart.
    """
    if app.config.get("SECRET_KEY"):
        return
    if not (app.debug or app.testing):
        raise ConfigError(
            "ZGODA_SECRET_KEY is not set: set it in the environment to run in production "
            "(or run with --debug for local development)"
        )
    app.logger.warning("ZGODA_SECRET_KEY is not set: using a random key for this process")
    app.config["SECRET_KEY"] = secrets.token_urlsafe(32)

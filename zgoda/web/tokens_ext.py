"""The app's consent-token issuer, built from SECRET_KEY and SECRET_KEY_FALLBACKS."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

from zgoda.consent.tokens import ConsentTokens
from zgoda.errors import ConfigError

if TYPE_CHECKING:
    from flask import Flask

EXTENSION_KEY = "zgoda_tokens"


def init_app(app: Flask) -> None:
    """Attach a ConsentTokens for the app's secret keys (none while the command that loaded
    the app needs no secret: see config.check_settings)."""
    secret = app.config["SECRET_KEY"]
    app.extensions[EXTENSION_KEY] = (
        ConsentTokens(str(secret), list(app.config["SECRET_KEY_FALLBACKS"])) if secret else None
    )


def consent_tokens() -> ConsentTokens:
    """The current app's ConsentTokens; ConfigError if the app has no secret key to sign with."""
    tokens: ConsentTokens | None = current_app.extensions[EXTENSION_KEY]
    if tokens is None:
        raise ConfigError("ZGODA_SECRET_KEY is not set: nothing can be signed without it")
    return tokens

"""The app's consent-token issuer, built from SECRET_KEY and SECRET_KEY_FALLBACKS."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

from zgoda.consent.tokens import ConsentTokens

if TYPE_CHECKING:
    from flask import Flask

EXTENSION_KEY = "zgoda_tokens"


def init_app(app: Flask) -> None:
    """Attach a ConsentTokens for the app's secret keys."""
    app.extensions[EXTENSION_KEY] = ConsentTokens(
        str(app.config["SECRET_KEY"]), list(app.config["SECRET_KEY_FALLBACKS"])
    )


def consent_tokens() -> ConsentTokens:
    """The current app's ConsentTokens."""
    tokens: ConsentTokens = current_app.extensions[EXTENSION_KEY]
    return tokens

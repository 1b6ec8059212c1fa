"""Flask's signed-cookie session, with its signing serializer built once rather than per request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask.sessions import SecureCookieSessionInterface

if TYPE_CHECKING:
    from flask import Flask
    from itsdangerous import URLSafeTimedSerializer


class ReusedSerializerSessionInterface(SecureCookieSessionInterface):
    """Flask opens the session on every request, and its stock interface builds a new
    serializer each time (a third of a cached API read); this one keeps it while the
    keys stay the same."""

    def __init__(self) -> None:
        self._keys: Any = None
        self._serializer: URLSafeTimedSerializer | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """The serializer for the app's current secret key and fallbacks."""
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if keys != self._keys:
            self._serializer = super().get_signing_serializer(app)
            self._keys = keys
        return self._serializer


def init_app(app: Flask) -> None:
    """Use the reusing session interface for this app."""
    app.session_interface = ReusedSerializerSessionInterface()

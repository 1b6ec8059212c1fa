"""Flask's signed-cookie session: its signing serializer built once rather than per request,
and its cookie Secure on every https request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import has_request_context, request
from flask.sessions import SecureCookieSessionInterface

if TYPE_CHECKING:
    from flask import Flask
    from itsdangerous import URLSafeTimedSerializer


class ReusedSerializerSessionInterface(SecureCookieSessionInterface):
    """Flask opens the session on every request, and its stock interface builds a new
    serializer each time (a third of a cached API read); this one keeps it while the
    keys stay the same. Flask's SESSION_COOKIE_SECURE is one value for every request;
    this interface also marks the cookie Secure whenever the request came over https."""

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

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure when SESSION_COOKIE_SECURE says so, or when this request is over https."""
        configured = super().get_cookie_secure(app)
        return configured or (has_request_context() and request.is_secure)


def init_app(app: Flask) -> None:
    """Use the reusing session interface for this app."""
    app.session_interface = ReusedSerializerSessionInterface()

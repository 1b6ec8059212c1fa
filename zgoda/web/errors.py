"""Error responses: a localized HTML page for people, JSON for the API; Zgoda's own errors
mapped to their status codes here, and only here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import current_app, jsonify, render_template, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, SecurityError

from zgoda.errors import (
    Forbidden,
    InvalidBody,
    InvalidConsent,
    NotJsonBody,
    RequestError,
    StaleNotice,
    StorageError,
    Unauthorized,
    UnprovenConsent,
)
from zgoda.web.blueprints import is_api_request

if TYPE_CHECKING:
    from flask import Flask
    from flask.typing import ResponseReturnValue


def init_app(app: Flask) -> None:
    """Render every HTTP error as HTML or JSON, never a bare 500 page."""
    app.register_error_handler(HTTPException, render_http_error)
    app.register_error_handler(SecurityError, render_untrusted_host)
    app.register_error_handler(RequestError, render_request_error)
    app.register_error_handler(RequestEntityTooLarge, render_http_error)
    app.register_error_handler(SQLAlchemyError, render_storage_error)
    app.register_error_handler(StorageError, render_storage_error)


def render_http_error(error: HTTPException) -> ResponseReturnValue:
    """JSON for the API, a localized page elsewhere."""
    status = error.code or 500
    # A new body must keep the headers HTTP requires of the error, such as a 405's Allow.
    headers = [(name, value) for name, value in error.get_headers() if name != "Content-Type"]
    if is_api_request():
        name = error.name.lower().replace(" ", "_")
        return jsonify(error=name, message=error.description, status=status), status, headers
    return render_template("error.html", status=status), status, headers


def render_untrusted_host(error: SecurityError) -> ResponseReturnValue:
    """400 for a Host header outside TRUSTED_HOSTS: plain JSON, since no URL can be built."""
    host = request.headers.get("Host", "")[:100]
    body = {
        "error": "untrusted_host",
        "message": f"this server does not answer for the host {host!r}",
        "status": 400,
    }
    return jsonify(body), 400


# The status of each refused request; a subclass not named here takes its nearest parent's.
REQUEST_STATUS: dict[type[RequestError], int] = {
    RequestError: 400,
    NotJsonBody: 415,
    InvalidBody: 422,
    Unauthorized: 401,
    Forbidden: 403,
    InvalidConsent: 422,
    StaleNotice: 409,
    UnprovenConsent: 403,
}


def status_of(error: RequestError) -> int:
    """The HTTP status that answers `error`."""
    for kind in type(error).__mro__:
        if kind in REQUEST_STATUS:
            return REQUEST_STATUS[kind]
    return 400


def render_request_error(error: RequestError) -> ResponseReturnValue:
    """A refused request as JSON naming the problem (and the field, when there is one)."""
    status = status_of(error)
    body: dict[str, Any] = {"error": error.code, "message": error.message, "status": status}
    if error.field:
        body["field"] = error.field
    return jsonify(body | error.details), status


# Answered instead of a 500 when the consent log cannot be read or written (database down,
# disk full, locked for too long). The transaction was rolled back: nothing was half-written.
STORAGE_RETRY_SECONDS = 5


def render_storage_error(error: SQLAlchemyError | StorageError) -> ResponseReturnValue:
    """503 with Retry-After: JSON under /api/, the localized error page elsewhere."""
    current_app.logger.error("consent log unavailable: %s", error, exc_info=error)
    headers = {"Retry-After": str(STORAGE_RETRY_SECONDS)}
    if is_api_request():
        body = {
            "error": "storage_unavailable",
            "message": "the consent log cannot be reached just now; nothing was recorded, "
            "try again shortly",
            "status": 503,
        }
        return jsonify(body), 503, headers
    return render_template("error.html", status=503), 503, headers

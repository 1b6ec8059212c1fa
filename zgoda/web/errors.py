"""Error responses: a localized HTML page for people, JSON for the API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from zgoda.errors import ApiError

if TYPE_CHECKING:
    from flask import Flask
    from flask.typing import ResponseReturnValue


def init_app(app: Flask) -> None:
    """Render every HTTP error as HTML or JSON, never a bare 500 page."""
    app.register_error_handler(HTTPException, render_http_error)
    app.register_error_handler(ApiError, render_api_error)
    app.register_error_handler(RequestEntityTooLarge, render_http_error)


def render_http_error(error: HTTPException) -> ResponseReturnValue:
    """JSON under /api/, a localized page elsewhere."""
    status = error.code or 500
    # A new body must keep the headers HTTP requires of the error, such as a 405's Allow.
    headers = [(name, value) for name, value in error.get_headers() if name != "Content-Type"]
    if request.path.startswith("/api/"):
        name = error.name.lower().replace(" ", "_")
        return jsonify(error=name, message=error.description, status=status), status, headers
    return render_template("error.html", status=status), status, headers


def render_api_error(error: ApiError) -> ResponseReturnValue:
    """An ApiError as JSON naming the problem (and the field, when there is one)."""
    body: dict[str, Any] = {"error": error.error, "message": error.message, "status": error.status}
    if error.field:
        body["field"] = error.field
    return jsonify(body | error.details), error.status

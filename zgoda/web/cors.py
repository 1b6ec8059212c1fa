"""CORS for the API: only the origins a site's notice data (or the app config) allows."""

from __future__ import annotations

from flask import Response, current_app, request

from zgoda.notices.loader import LoadedNotice


def allowed_origin(loaded: LoadedNotice) -> str | None:
    """The request's Origin if this site allows it, else None."""
    origin = request.headers.get("Origin")
    if not origin:
        return None
    allowed = {*loaded.notice.embed.allowed_origins, *current_app.config["ALLOWED_ORIGINS"]}
    return origin if origin in allowed else None


def add_cors_headers(response: Response, loaded: LoadedNotice, methods: str) -> Response:
    """Allow the site's own origins to read the response; say it varies by Origin."""
    if "Vary" in response.headers:
        response.vary.add("Origin")
    else:  # most responses: no header set to parse and merge
        response.headers["Vary"] = "Origin"
    origin = allowed_origin(loaded)
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = methods
            response.headers["Access-Control-Allow-Headers"] = "Content-Type, If-None-Match"
            response.headers["Access-Control-Max-Age"] = "600"
    return response

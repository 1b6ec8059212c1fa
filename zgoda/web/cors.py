"""CORS for the consent API, added in one place for its blueprint: only the origins a site's
notice data (or the app config) allows may read its answers."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, request

from zgoda.notices.loader import LoadedNotice
from zgoda.notices.registry import notice_registry
from zgoda.web.headers import add_vary

PREFLIGHT_MAX_AGE = "600"
ALLOWED_HEADERS = "Content-Type, If-None-Match"


def allowed_origin(loaded: LoadedNotice) -> str | None:
    """The request's Origin if this site allows it, else None."""
    origin = request.headers.get("Origin")
    if not origin:
        return None
    allowed = {*loaded.notice.embed.allowed_origins, *current_app.config["ALLOWED_ORIGINS"]}
    if origin in allowed or _on_own_domain(origin, loaded.notice.embed.domains):
        return origin
    return None


def _on_own_domain(origin: str, domains: list[str]) -> bool:
    """Whether `origin` is an https page on one of the site's domains or their subdomains."""
    if not domains:
        return False
    try:
        parts = urlsplit(origin)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        return False
    host = parts.hostname or ""
    if parts.scheme != "https" or parts.path or parts.query or parts.username is not None:
        return False
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def _requested_site() -> LoadedNotice | None:
    site = (request.view_args or {}).get("site")
    return notice_registry().notices.get(site) if isinstance(site, str) else None


def answer_preflight() -> Response | None:
    """A CORS preflight (OPTIONS) answered before any view runs, so it is never counted
    or recorded; 404 for an unknown site, as the view would answer."""
    if request.method != "OPTIONS" or request.url_rule is None:
        return None
    loaded = notice_registry().get_or_404(str((request.view_args or {}).get("site", "")))
    response = Response(status=204)
    origin = allowed_origin(loaded)
    if origin is not None:
        methods = sorted((request.url_rule.methods or set()) - {"OPTIONS", "HEAD"})
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    response.vary.add("Origin")
    return response


def add_cors_headers(response: Response) -> Response:
    """Every answer about a known site, errors too (its embed must read a 409 or a 429 and
    its Retry-After): the site's allowed origin may read it, and it varies by Origin."""
    loaded = _requested_site()
    if loaded is None or request.method == "OPTIONS":
        return response
    add_vary(response, "Origin")
    origin = allowed_origin(loaded)
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        if "Retry-After" in response.headers:
            # Not a CORS-safelisted header: without this the embed could not honour it.
            response.headers["Access-Control-Expose-Headers"] = "Retry-After"
    return response


def init_blueprint(bp: Blueprint) -> None:
    """Answer preflights and add CORS headers for every view of `bp`."""
    bp.before_request(answer_preflight)
    bp.after_request(add_cors_headers)

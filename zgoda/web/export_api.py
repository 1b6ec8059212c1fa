"""GET /api/v1/sites/<site>/consents/export: the site's consent log for its API key holders.

A refused key counts towards the per-network limit on key guesses; over it, 429.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, request

from zgoda import metrics
from zgoda.consent import rules_for
from zgoda.errors import RequestError
from zgoda.export import FORMATS, MEDIA_TYPES, Format, export_chunks, gzip_chunks, parse_moment
from zgoda.notices.registry import notice_registry
from zgoda.store.db import engine
from zgoda.store.keys import authenticate
from zgoda.web.blueprints import API_PREFIX
from zgoda.web.limits import key_attempt

bp = Blueprint("export_api", __name__, url_prefix=API_PREFIX)

BEARER = "bearer "


def bearer_key() -> str | None:
    """The key of an `Authorization: Bearer <key>` header, if any."""
    value = request.headers.get("Authorization", "")
    return value[len(BEARER) :].strip() if value.lower().startswith(BEARER) else None


def requested_format() -> Format:
    """`format`: csv (the default) or ndjson; 400 naming the field otherwise."""
    value = request.args.get("format", "csv")
    if value not in FORMATS:
        raise RequestError(f"unknown format {value!r}; use one of: {', '.join(FORMATS)}", "format")
    return value


def requested_moment(field: str) -> datetime | None:
    """The `from` or `to` query parameter in UTC; 400 naming the field when unreadable."""
    value = request.args.get(field)
    if not value:
        return None
    try:
        return parse_moment(value, end=field == "to")
    except ValueError as error:
        raise RequestError(f"{field}: {error}", field) from error


@bp.get("/sites/<site>/consents/export")
def export_consents(site: str) -> Response:
    """Stream the site's consent log as CSV or NDJSON, gzipped when the client accepts it."""
    loaded = notice_registry().get_or_404(site)
    presented = bearer_key()
    with key_attempt(presented):
        authenticate(engine(), site, presented)
    fmt = requested_format()
    start, end = requested_moment("from"), requested_moment("to")
    progress = metrics.export_progress(site, fmt)
    text = export_chunks(engine(), site, fmt, rules_for(loaded).choice_keys, start, end, progress)
    gzipped = request.accept_encodings.quality("gzip") > 0
    response = Response(gzip_chunks(text) if gzipped else text, mimetype=MEDIA_TYPES[fmt])
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{site}-consents-{stamp}.{fmt}"'
    )
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    response.cache_control.no_store = True  # visitors' consent records: never in a shared cache
    return response

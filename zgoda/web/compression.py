"""Gzip for HTML pages and JSON answers (the banner configuration above all) when the client
accepts it.

Only whole bodies are compressed: streamed and direct-passthrough responses (exports, files)
and responses that already carry a Content-Encoding (the embed, gzipped at start-up) pass
untouched. A strong ETag becomes weak, as the body's bytes changed but not its meaning, so
conditional requests (compared weakly) still answer 304.
"""

from __future__ import annotations

import gzip
from typing import TYPE_CHECKING

from flask import request

from zgoda.web.headers import add_vary

if TYPE_CHECKING:
    from flask import Flask, Response

COMPRESSIBLE_TYPES = ("text/html", "application/json")
MIN_SIZE = 1024  # below this the gzip header and a round of CPU are not worth it
LEVEL = 6


def init_app(app: Flask) -> None:
    """Compress eligible responses after every request."""
    app.after_request(compress_response)


def compress_response(response: Response) -> Response:
    """The response gzipped when it is HTML or JSON of MIN_SIZE bytes or more and gzip is accepted."""
    # On every response: the cheap header tests first, werkzeug's parsed views only after.
    if not compressible(response):
        return response
    add_vary(response, "Accept-Encoding")
    if "gzip" not in request.headers.get("Accept-Encoding", "") or (
        request.accept_encodings["gzip"] <= 0
    ):
        return response
    body = response.get_data()
    if len(body) < MIN_SIZE:
        return response
    response.set_data(gzip.compress(body, compresslevel=LEVEL, mtime=0))
    response.content_encoding = "gzip"
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)
    return response


def compressible(response: Response) -> bool:
    """A whole, unencoded HTML or JSON body with content (not a 1xx, 204, 206 or 304)."""
    headers = response.headers
    if "Accept-Encoding" in headers.get("Vary", ""):
        return False  # the view chose the encoding itself (the banner keeps a gzipped copy)
    content_type = headers.get("Content-Type", "")
    length = response.content_length  # None when streamed
    return (
        content_type.startswith(COMPRESSIBLE_TYPES)
        and (length is None or length >= MIN_SIZE)
        and "Content-Encoding" not in headers
        and 200 <= response.status_code not in (204, 206, 304)
        and not response.direct_passthrough
        and not response.is_streamed
        and "no-transform" not in headers.get("Cache-Control", "")
    )

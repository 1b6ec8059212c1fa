"""The JavaScript embed: the script a website adds, at a stable and a content-hashed URL.

The bundle (static/embed/embed.js minified, with embed.css inlined) is built, hashed and
gzipped once at start-up. `/embed.js` changes with each release and is cached
briefly; `/embed.<hash>.js` never changes and can be pinned with Subresource Integrity.
(The sources under /static/embed/ still hold the CSS placeholder: websites use /embed.js.)
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import minify
from flask import Blueprint, Response, abort, current_app, request, send_from_directory

from zgoda import __version__
from zgoda.config import bundled_dir

if TYPE_CHECKING:
    from flask import Flask

STATIC_DIR = bundled_dir("static")  # the embed and favicon ship with the code
EMBED_DIR = STATIC_DIR / "embed"
CSS_PLACEHOLDER = '"__ZGODA_CSS__"'
VERSION_PLACEHOLDER = '"__ZGODA_VERSION__"'  # Zgoda.version: the release that served it
STABLE_MAX_AGE = 300
PINNED_MAX_AGE = 365 * 24 * 3600
FAVICON_MAX_AGE = 7 * 24 * 3600

bp = Blueprint("embed", __name__)


@dataclass(frozen=True)
class EmbedBundle:
    """The served script, its gzip encoding, the hash in its pinned URL and its SRI value."""

    source: bytes
    gzipped: bytes
    digest: str
    integrity: str


def minify_css(css: str) -> str:
    """Comments and needless spaces out (tdewolff/minify, the Go minifiers' Python binding)."""
    return str(minify.string("text/css", css))


def strip_script(script: str) -> str:
    """The script minified: comments and spaces out, local names shortened (tdewolff/minify).

    The source stays commented and readable with self-explaining names; only what is served
    is short. The minifier keeps strings as they are, so the placeholders survive it.
    """
    return str(minify.string("application/javascript", script))


def build_bundle(directory: Path = EMBED_DIR) -> EmbedBundle:
    """embed.js (stripped) with embed.css inlined as a string, hashed and gzipped."""
    script = strip_script((directory / "embed.js").read_text("utf-8"))
    if CSS_PLACEHOLDER not in script:
        raise RuntimeError(f"{directory / 'embed.js'} lost its {CSS_PLACEHOLDER} placeholder")
    css = minify_css((directory / "embed.css").read_text("utf-8"))
    if VERSION_PLACEHOLDER not in script:
        raise RuntimeError(f"{directory / 'embed.js'} lost its {VERSION_PLACEHOLDER} placeholder")
    script = script.replace(VERSION_PLACEHOLDER, json.dumps(__version__), 1)
    source = script.replace(CSS_PLACEHOLDER, json.dumps(css), 1).encode("utf-8")
    return EmbedBundle(
        source=source,
        gzipped=gzip.compress(source, compresslevel=9, mtime=0),
        digest=hashlib.sha256(source).hexdigest()[:16],
        integrity="sha384-" + base64.b64encode(hashlib.sha384(source).digest()).decode("ascii"),
    )


def init_app(app: Flask) -> None:
    """Build the bundle once; add the template helper."""
    app.extensions["zgoda_embed"] = build_bundle()
    app.jinja_env.globals["embed_bundle"] = embed_bundle


def embed_bundle() -> EmbedBundle:
    """The bundle built at start-up."""
    bundle: EmbedBundle = current_app.extensions["zgoda_embed"]
    return bundle


@bp.get("/embed.js")
def stable() -> Response:
    """The current embed, cached for minutes so a release reaches every site quickly."""
    return serve(embed_bundle(), STABLE_MAX_AGE, immutable=False)


@bp.get("/embed.<digest>.js")
def pinned(digest: str) -> Response:
    """One exact version of the embed, cached for a year; 404 once it is no longer current."""
    bundle = embed_bundle()
    if digest != bundle.digest:
        abort(404)
    return serve(bundle, PINNED_MAX_AGE, immutable=True)


@bp.get("/favicon.ico")
def favicon() -> Response:
    """The icon browsers ask for at the root, for pages that do not name theirs (JSON, errors)."""
    return send_from_directory(
        STATIC_DIR, "favicon.ico", mimetype="image/x-icon", max_age=FAVICON_MAX_AGE
    )


def serve(bundle: EmbedBundle, max_age: int, immutable: bool) -> Response:
    """The script, gzipped when the browser accepts it, readable cross-origin for SRI."""
    gzipped = request.accept_encodings["gzip"] > 0
    response = Response(bundle.gzipped if gzipped else bundle.source, mimetype="text/javascript")
    if gzipped:
        response.content_encoding = "gzip"
    response.vary.add("Accept-Encoding")
    response.set_etag(bundle.digest + ("-gzip" if gzipped else ""))
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    response.cache_control.immutable = immutable
    # Subresource Integrity on another origin needs CORS (<script crossorigin="anonymous">).
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.make_conditional(request)
    return response


def pinned_tag(bundle: EmbedBundle, base_url: str, site: str) -> str:
    """The <script> tag of the pinned embed for `site`, with its Subresource Integrity hash."""
    return (
        f'<script src="{base_url.rstrip("/")}/embed.{bundle.digest}.js" '
        f'integrity="{bundle.integrity}" '
        f'crossorigin="anonymous" data-site="{site}" async></script>'
    )

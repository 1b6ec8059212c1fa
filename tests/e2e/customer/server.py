"""The "customer" website of the browser tests: static pages on another origin than Zgoda.

Pages are small templates: `%ZGODA%` becomes the Zgoda origin (or `?zgoda=`),
`%LANG%` the page language (`?lang=`, default en), `%SITE%` the site of the embed
(`?site=`, default optingo), `%SCRIPT%` the embed's address and site attribute
(`/embed.js` with `data-site`; with `?script=site` the per-site `/embed/SITE.js` alone)
and `%EMBED%` extra attributes of the embed's script tag (`?embed=`). `strict.html` is served with a strict CSP
that allows scripts and connections to its own origin and Zgoda's only.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

PAGES = Path(__file__).resolve().parent
STRICT_PAGES = {"/strict.html"}


def strict_csp(zgoda: str) -> str:
    """What a site owner deploys: own origin plus Zgoda for scripts and API calls, nothing inline."""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {zgoda}",
            f"connect-src 'self' {zgoda}",
            "style-src 'self'",
            "img-src 'self'",
            "frame-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
        ]
    )


def handler_for(zgoda: str) -> type[SimpleHTTPRequestHandler]:
    """A request handler that fills the page templates with `zgoda` as the default origin."""

    class CustomerPages(SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(PAGES), **kwargs)  # type: ignore[arg-type]

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            url = urlsplit(self.path)
            if not url.path.endswith(".html"):
                super().do_GET()
                return
            page = PAGES / url.path.lstrip("/")
            if not page.is_file():
                self.send_error(404)
                return
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            origin = query.get("zgoda", zgoda)
            site = html.escape(query.get("site", "optingo"))
            script = (
                f'src="{origin}/embed/{site}.js"'
                if query.get("script") == "site"
                else f'src="{origin}/embed.js" data-site="{site}"'
            )
            body = (
                page.read_text("utf-8")
                .replace("%SCRIPT%", script)
                .replace("%ZGODA%", origin)
                .replace("%LANG%", html.escape(query.get("lang", "en")))
                .replace("%SITE%", site)
                .replace("%EMBED%", query.get("embed", ""))
                .encode("utf-8")
            )
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            if url.path in STRICT_PAGES:
                self.send_header("Content-Security-Policy", strict_csp(origin))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def end_headers(self) -> None:
            if not self.path.endswith(".html"):
                self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return CustomerPages


@contextmanager
def customer_site(origin: str, zgoda: str) -> Iterator[str]:
    """Serve the customer pages on `origin` (http://host:port) until the block ends."""
    url = urlsplit(origin)
    assert url.hostname and url.port
    server = ThreadingHTTPServer((url.hostname, url.port), handler_for(zgoda))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield origin
    finally:
        server.shutdown()
        server.server_close()

"""The scanner's fixture websites: a shop on 127.0.0.2 in five variants and an ad network.

The shop's pages (tests/fixtures/scan_sites/pages/) load Zgoda's embed from a real Zgoda
server; `%ZGODA%` and `%PIXEL%` in pages and scripts become the two other origins. The ad
network on 127.0.0.3 answers every request with a 1x1 GIF. `/many/N.html` are ten linked
pages for the benchmark, and `/hang.html` never answers (until the test is over).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from tests.conftest import NOTICES_DIR, ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "scan_sites"
PAGES = FIXTURES / "pages"
SHOP_HOST, PIXEL_HOST = "127.0.0.2", "127.0.0.3"
SITE_ID = "scanshop"
MANY_PAGES = 10
# The smallest GIF: 1x1, transparent, 43 bytes.
PIXEL_GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


def write_notices(target: Path, pixel_origin: str) -> Path:
    """The seed notices plus the shop's (optingo's with the fixture cookie policy)."""
    shutil.copytree(NOTICES_DIR, target)
    notice = yaml.safe_load((NOTICES_DIR / "optingo" / "notice.yaml").read_text("utf-8"))
    pixel_host = urlsplit(pixel_origin).hostname or PIXEL_HOST
    policy = (
        (FIXTURES / "cookie_policy.yaml").read_text("utf-8").replace("%PIXEL_HOST%", pixel_host)
    )
    notice.update(yaml.safe_load(policy))
    notice["embed"] = {}
    (target / SITE_ID).mkdir()
    (target / SITE_ID / "notice.yaml").write_text(yaml.safe_dump(notice, allow_unicode=True))
    return target


def _many_page(number: int) -> str:
    links = " ".join(f'<a href="{n}.html">Page {n}</a>' for n in range(MANY_PAGES))
    clean = (PAGES / "clean" / "index.html").read_text("utf-8")
    body = clean.replace("<h1>", f"<h1>Page {number} of ")
    return body.replace('<p><a href="about.html">About us</a>', f"<p>{links}")


class _Quiet(BaseHTTPRequestHandler):
    """A handler that neither logs requests nor minds a browser that hung up mid-answer."""

    def handle(self) -> None:
        # A scan closes its browser context without waiting for every answer to arrive.
        with suppress(BrokenPipeError, ConnectionResetError):
            super().handle()

    def log_message(self, format: str, *args: object) -> None:
        pass


def _handler(zgoda: str, pixel: str, stop: threading.Event) -> type[BaseHTTPRequestHandler]:
    class ShopPages(_Quiet):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = urlsplit(self.path).path
            if path == "/hang.html":
                stop.wait(120)  # a page that never finishes, until the fixture ends
                return
            if (
                path.startswith("/many/")
                and path.removeprefix("/many/").removesuffix(".html").isdigit()
            ):
                text = _many_page(int(path.removeprefix("/many/").removesuffix(".html")))
            else:
                file = (PAGES / path.lstrip("/")).resolve()
                if PAGES not in file.parents or not file.is_file():
                    self.send_error(404)
                    return
                text = file.read_text("utf-8")
            body = text.replace("%ZGODA%", zgoda).replace("%PIXEL%", pixel).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", TYPES.get(Path(path).suffix, "text/plain"))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return ShopPages


class PixelNetwork(_Quiet):
    """The ad network: a 1x1 GIF for every request."""

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "image/gif")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(PIXEL_GIF)))
        self.end_headers()
        self.wfile.write(PIXEL_GIF)


@contextmanager
def _serving(origin: str, handler: type[BaseHTTPRequestHandler]) -> Iterator[None]:
    url = urlsplit(origin)
    assert url.hostname and url.port
    server = ThreadingHTTPServer((url.hostname, url.port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def scan_sites(shop: str, pixel: str, zgoda: str) -> Iterator[str]:
    """Serve the shop on `shop` and the ad network on `pixel` until the block ends."""
    stop = threading.Event()
    with ExitStack() as stack:
        stack.enter_context(_serving(pixel, PixelNetwork))
        stack.enter_context(_serving(shop, _handler(zgoda, pixel, stop)))
        stack.callback(stop.set)  # first: the hanging request returns, the server can stop
        yield shop

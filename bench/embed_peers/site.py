"""The customer origin: the candidates' pages and the peers' self-hosted files, gzip-encoded.

The peers' files are served from bench/embed_peers/node_modules (installed by `npm ci`), gzip
-6 when the browser asks for it, as any web server in front of them would; Zgoda compresses its
own script. HTTP/1.1 with keep-alive, nothing cached (`no-store`), so every run starts cold.
"""

from __future__ import annotations

import gzip
import mimetypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

PEERS = Path(__file__).resolve().parent / "node_modules"


@cache
def peer_file(relative: str) -> tuple[bytes, bytes] | None:
    """A peer's file (raw, gzip) under node_modules, or None outside it or when missing."""
    path = (PEERS / relative).resolve()
    if PEERS.resolve() not in path.parents or not path.is_file():
        return None
    data = path.read_bytes()
    return data, gzip.compress(data, compresslevel=6, mtime=0)


def handler_for(pages: dict[str, bytes]) -> type[BaseHTTPRequestHandler]:
    """A handler serving `pages` (path -> HTML) and /peers/<file under node_modules>."""

    class Customer(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = urlsplit(self.path).path
            if path in pages:
                self.answer(pages[path], "text/html; charset=utf-8", compress=True)
            elif path.startswith("/peers/") and (found := peer_file(path[len("/peers/") :])):
                kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
                self.answer(found[0], kind, compressed=found[1])
            else:
                self.answer(b"not found", "text/plain", status=404)

        def answer(
            self,
            body: bytes,
            kind: str,
            status: int = 200,
            compress: bool = False,
            compressed: bytes | None = None,
        ) -> None:
            gzipped = "gzip" in self.headers.get("Accept-Encoding", "")
            if gzipped and compress:
                compressed = gzip.compress(body, compresslevel=6, mtime=0)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Cache-Control", "no-store")
            if gzipped and compressed is not None:
                body = compressed
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Customer


@contextmanager
def customer_site(host: str, port: int, pages: dict[str, str]) -> Iterator[str]:
    """Serve `pages` (path -> HTML) and the peers' files on host:port until the block ends."""
    encoded = {path: text.encode("utf-8") for path, text in pages.items()}
    server = ThreadingHTTPServer((host, port), handler_for(encoded))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()

"""Where one process spends its time on a consent write or a banner read (no network).

    .venv/bin/python bench/profile_api.py [consent|banner|bare] [--requests 2000] [--top 30]

Each request is a prebuilt WSGI environ handed straight to the app (no sockets, no test
client), with the consent log in SQLite in a temporary directory; `bare` is the one-route
reference app of consent_bench.py. It prints the time per request, then (with --top above 0)
a cProfile table of a second run by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bare_app  # noqa: E402

from app import create_app  # noqa: E402
from zgoda.store.migrate import upgrade  # noqa: E402

SITE = "optingo"
HEADERS = {"Host": "127.0.0.1:8000", "User-Agent": "Mozilla/5.0 (X11; rv:130.0) Firefox/130.0"}
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def requester(
    app: WsgiApp, path: str, expected: str, body: bytes | None = None
) -> Callable[[], None]:
    """A function that sends one request to `app` and checks its status."""
    builder = EnvironBuilder(
        path=path,
        method="POST" if body is not None else "GET",
        data=body,
        content_type="application/json" if body is not None else None,
        headers=HEADERS,
    )
    environ = builder.get_environ()

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        assert status.startswith(expected), status

    def request() -> None:
        fresh = dict(environ)
        if body is not None:
            fresh["wsgi.input"] = io.BytesIO(body)
        answer = app(fresh, start_response)
        b"".join(answer)
        getattr(answer, "close", lambda: None)()

    return request


def main() -> None:
    """Time and profile the chosen request."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "request", choices=["consent", "banner", "bare"], nargs="?", default="consent"
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=30)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zgoda-profile-") as workdir:
        settings = {
            "SECRET_KEY": "profile-secret-of-at-least-thirty-two-bytes",
            "PUBLIC_URL": "http://127.0.0.1:8000",
            "DATABASE_URL": f"sqlite:///{workdir}/zgoda.sqlite3",
            "CONSENT_RATE_LIMIT": "1000000 per second",  # the limit is not what is measured
        }
        app = create_app(settings)
        upgrade(app)
        version = app.extensions["zgoda_notices"].notices[SITE].version
        consent = {"action": "accept_all", "notice_version": version, "locale": "pl"}
        request = {
            "consent": requester(
                app, f"/api/v1/sites/{SITE}/consents", "201", json.dumps(consent).encode()
            ),
            "banner": requester(app, f"/api/v1/sites/{SITE}/banner?lang=pl", "200"),
            "bare": requester(bare_app.create_app(), "/ping", "200"),
        }[options.request]
        for _ in range(100):  # warm caches and the connection pool
            request()
        began = time.perf_counter()
        for _ in range(options.requests):
            request()
        seconds = (time.perf_counter() - began) / options.requests
        print(f"{options.request}: {seconds * 1e6:.0f} µs per request")
        if options.top > 0:
            profile = cProfile.Profile()
            profile.runcall(lambda: [request() for _ in range(options.requests)])
            pstats.Stats(profile).sort_stats("cumulative").print_stats(options.top)
        app.extensions["zgoda_db"].dispose()


if __name__ == "__main__":
    main()

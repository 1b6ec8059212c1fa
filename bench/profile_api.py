"""Where one process spends its time on consent writes or banner reads (cProfile, no network).

    .venv/bin/python bench/profile_api.py [consent|banner] [--requests 2000] [--top 30]

Requests go through Flask's test client into a SQLite log in a temporary directory, so the
figures are per-request CPU and commit time without gunicorn, sockets or wrk. It prints the
time per request with and without the profiler, then the functions by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from zgoda.store.migrate import upgrade  # noqa: E402

SITE = "optingo"


def main() -> None:
    """Profile the chosen request and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("request", choices=["consent", "banner"], nargs="?", default="consent")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=30)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zgoda-profile-") as workdir:
        settings = {
            "SECRET_KEY": "profile",
            "DATABASE_URL": f"sqlite:///{workdir}/zgoda.sqlite3",
            "CONSENT_RATE_LIMIT": "1000000 per second",  # the limit is not what is measured
        }
        app = create_app(settings)
        upgrade(app)
        client = app.test_client()
        version = app.extensions["zgoda_notices"].notices[SITE].version
        body = {"action": "accept_all", "notice_version": version, "locale": "pl"}
        headers = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Firefox/130.0"}

        def consent() -> None:
            response = client.post(f"/api/v1/sites/{SITE}/consents", json=body, headers=headers)
            assert response.status_code == 201, response.get_data(as_text=True)

        def banner() -> None:
            response = client.get(f"/api/v1/sites/{SITE}/banner?lang=pl")
            assert response.status_code == 200

        request: Callable[[], None] = consent if options.request == "consent" else banner
        for _ in range(50):  # warm caches and the connection pool
            request()
        began = time.perf_counter()
        for _ in range(options.requests):
            request()
        plain = (time.perf_counter() - began) / options.requests
        profile = cProfile.Profile()
        began = time.perf_counter()
        profile.runcall(lambda: [request() for _ in range(options.requests)])
        profiled = (time.perf_counter() - began) / options.requests
        app.extensions["zgoda_db"].dispose()
    print(f"{options.request}: {plain * 1000:.3f} ms per request ({profiled * 1000:.3f} profiled)")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(options.top)


if __name__ == "__main__":
    main()

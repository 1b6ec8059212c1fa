"""Where one process spends its time on a consent write or a banner read (no network).

    .venv/bin/python bench/profile_api.py [consent|banner|bare] [--requests 2000] [--top 30]
    .venv/bin/python bench/profile_api.py consent --phases [--database-url URL]

Each request is a prebuilt WSGI environ handed straight to the app (no sockets, no test
client), with the consent log in SQLite in a temporary directory (or --database-url); `bare`
is the one-route reference app of consent_bench.py. It prints the time per request, then
(with --top above 0) a cProfile table of a second run by cumulative time.

--phases instead prints the thread CPU time per request of each part of a consent write: every
before/after-request hook, the session, the view's parts (validation, event, token, the append,
the answer), the access-log line, and the whole request. Thread CPU, not wall time: the commit's
fsync wait is left out, and so is the profiler's own cost (each part is timed by a wrapper).
Each write is its own transaction here; under gunicorn a transaction holds several.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import json
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bare_app  # noqa: E402

import zgoda.web.api as api  # noqa: E402
import zgoda.web.request_log as request_log  # noqa: E402
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


# The view's parts, by their names in zgoda.web.api; the append and the token are methods of
# objects the view looks up, so their lookups are wrapped to time the call.
VIEW_PARTS = ("parse_body", "site_banner", "client_facts", "build_event", "token_payload")


def timed(spent: dict[str, float], name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function`, adding the thread CPU seconds of each call to spent[name]."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.thread_time() - started

    return wrapper


class _TimedMethod:
    """An object whose one method `name` is timed; the rest passes through."""

    def __init__(self, spent: dict[str, float], label: str, target: Any, name: str):
        self._target = target
        setattr(self, name, timed(spent, label, getattr(target, name)))

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._target, attribute)


def time_phases(app: Any, spent: dict[str, float]) -> None:
    """Wrap the hooks, the session, the view's parts and the access line of `app` in timers."""
    view_module: Any = api  # its names are replaced, as a test's monkeypatch would
    done: Any = request_log._Done
    for kind, registry in (
        ("before", app.before_request_funcs),
        ("after", app.after_request_funcs),
        ("teardown", app.teardown_request_funcs),
    ):
        for blueprint, hooks in registry.items():
            where = f"{kind}_request{f' ({blueprint})' if blueprint else ''}"
            hooks[:] = [timed(spent, f"{where}: {f.__module__}.{f.__name__}", f) for f in hooks]
    sessions = app.session_interface
    sessions.open_session = timed(spent, "session: open", sessions.open_session)
    sessions.save_session = timed(spent, "session: save", sessions.save_session)
    for name in VIEW_PARTS:
        setattr(view_module, name, timed(spent, f"view: {name}", getattr(view_module, name)))
    writer, tokens = view_module.group_commit, view_module.consent_tokens
    view_module.group_commit = lambda engine: _TimedMethod(
        spent, "view: append (group commit, chain, transaction)", writer(engine), "append"
    )
    view_module.consent_tokens = lambda: _TimedMethod(
        spent, "view: tokens.issue", tokens(), "issue"
    )
    view = app.view_functions["api.record_consent"]
    app.view_functions["api.record_consent"] = timed(spent, "view: whole", view)
    done.finish = timed(spent, "access-log line and request metrics", done.finish)


def main() -> None:
    """Time and profile the chosen request."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "request", choices=["consent", "banner", "bare"], nargs="?", default="consent"
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--phases", action="store_true", help="thread CPU per part (consent)")
    parser.add_argument("--database-url", help="the log's database (default: a SQLite file)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zgoda-profile-") as workdir:
        settings = {
            "SECRET_KEY": "profile-secret-of-at-least-thirty-two-bytes",
            "PUBLIC_URL": "http://127.0.0.1:8000",
            "DATABASE_URL": options.database_url or f"sqlite:///{workdir}/zgoda.sqlite3",
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
        if options.phases:
            print_phases(app, request, options.requests)
            app.extensions["zgoda_db"].dispose()
            return
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


def print_phases(app: Any, request: Callable[[], None], requests: int) -> None:
    """Thread CPU µs per request of each part of a consent write, largest first."""
    spent: dict[str, float] = defaultdict(float)
    time_phases(app, spent)
    for _ in range(100):  # the wrapped functions warm too
        request()
    spent.clear()
    started = time.thread_time()
    for _ in range(requests):
        request()
    spent["whole request (WSGI call, body sent, access line)"] = time.thread_time() - started
    for name, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"{seconds / requests * 1e6:8.1f} µs  {name}")


if __name__ == "__main__":
    main()

"""The access log and the request id: one line per request, written by the app itself.

A WSGI middleware around the whole app gives every request an id (the client's or proxy's
`X-Request-ID` when it is a plausible id, else a new one), returns it in the response's
`X-Request-ID`, and when the body has been sent (streamed exports too) writes one line:
method, route, site, status, duration, bytes, request id, and the client's network as the
consent log keeps it (IPv4 /24, IPv6 /48, or nothing under IP_ADDRESS_MODE=drop).

The route is the URL rule (`/<site>/consent/<consent_id>`), not the path: paths carry consent
ids, and query strings carry tokens (`?token=`), so neither is logged. Successful probes of
/healthz, /readyz and /metrics are counted in the metrics but not logged: they would be most
of the log and say nothing.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from flask import Response, current_app, request

from zgoda import metrics
from zgoda.logs import REQUEST_ID_KEY
from zgoda.notices.registry import notice_registry
from zgoda.web.client import ip_prefix

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

access_log = logging.getLogger("zgoda.access")

HEADER = "X-Request-ID"
# An id a proxy or client chose: a UUID, nginx's $request_id, a trace id. Anything else (too
# long, spaces, quotes, control characters) is replaced, so a header cannot forge log lines.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+=/-]{0,127}")
QUIET_ENDPOINTS = frozenset({"health.healthz", "health.readyz", "metrics.scrape"})
ROUTE_KEY, ENDPOINT_KEY, SITE_KEY, NETWORK_KEY = (
    "zgoda.route",
    "zgoda.endpoint",
    "zgoda.site",
    "zgoda.network",
)


def request_id_for(header: str | None) -> str:
    """The header's id when it is plausible, else a new random one."""
    if header and VALID_REQUEST_ID.fullmatch(header):
        return header
    return secrets.token_hex(16)  # 128 random bits, as a UUID4 has 122


def current_request_id() -> str | None:
    """The current request's id."""
    value = request.environ.get(REQUEST_ID_KEY)
    return str(value) if value is not None else None


class RequestLog:
    """WSGI middleware: the request id in and out, one access-log line and the request metrics."""

    def __init__(self, app: WSGIApplication):
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID"))
        environ[REQUEST_ID_KEY] = request_id
        done = _Done(environ, time.perf_counter())

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            done.status = int(status.split(" ", 1)[0])
            kept = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
            return start_response(status, [*kept, (HEADER, request_id)], exc_info)

        try:
            body = self.app(environ, start)
        except BaseException:
            done.finish()
            raise
        return _Counted(body, done)


class _Done:
    """What the access line needs, filled in as the request goes; `finish` writes it once."""

    def __init__(self, environ: WSGIEnvironment, started: float):
        self.environ = environ
        self.started = started
        self.status = 500  # until the app starts a response
        self.sent = 0
        self.finished = False

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        environ = self.environ
        duration = time.perf_counter() - self.started
        endpoint = environ.get(ENDPOINT_KEY)
        method = str(environ.get("REQUEST_METHOD", ""))[:16]
        metrics.observe_request(endpoint, method, self.status, duration)
        if endpoint in QUIET_ENDPOINTS and self.status < 400:
            return
        if not access_log.isEnabledFor(logging.INFO):
            return
        route = environ.get(ROUTE_KEY)
        fields = {
            "method": method,
            "route": route,
            "endpoint": endpoint,
            "site": environ.get(SITE_KEY),
            "status": self.status,
            "duration_ms": round(duration * 1000, 2),
            "bytes": self.sent,
            "network": environ.get(NETWORK_KEY),
        }
        # A record made directly: Logger.info would walk the stack for the caller's line,
        # a third of the line's cost, to say what is always this line.
        record = access_log.makeRecord(
            access_log.name,
            logging.INFO,
            __file__,
            0,
            "%s %s %s",
            (method, route or "-", self.status),
            None,
            extra={"request_id": environ.get(REQUEST_ID_KEY), "fields": fields},
        )
        access_log.handle(record)


class _Counted:
    """The response body, passed through, counting its bytes; closing it ends the request."""

    def __init__(self, body: Iterable[bytes], done: _Done):
        self.body = body
        self.done = done

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.body:
            self.done.sent += len(chunk)
            yield chunk
        self.done.finish()  # all sent; a server closes the body next, a test client may not

    def close(self) -> None:
        try:
            close: Callable[[], None] | None = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.done.finish()


def note_network(network: str | None) -> None:
    """The request's network as its view worked it out already (a consent's client facts, by
    the same `ip_prefix`), so that the access line does not parse the address again."""
    request.environ[NETWORK_KEY] = network


def _note_request(response: Response) -> Response:
    """Leave the route, endpoint, site and network where the middleware reads them."""
    environ = request.environ
    rule = request.url_rule
    environ[ROUTE_KEY] = rule.rule if rule is not None else None
    environ[ENDPOINT_KEY] = request.endpoint
    site = (request.view_args or {}).get("site")
    # Only a site that exists: the path is the client's text.
    environ[SITE_KEY] = site if site in notice_registry().notices else None
    if NETWORK_KEY not in environ:
        mode = current_app.config["IP_ADDRESS_MODE"]
        environ[NETWORK_KEY] = ip_prefix(request.remote_addr, mode)
    return response


def init_app(app: Flask) -> None:
    """Wrap the app (outside ProxyFix, so the network is the visitor's) in the request log."""
    app.after_request(_note_request)
    app.wsgi_app = RequestLog(app.wsgi_app)  # type: ignore[method-assign]

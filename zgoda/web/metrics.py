"""GET /metrics: the Prometheus scrape, for the operator's monitoring only.

With METRICS_TOKEN set, a scrape must send `Authorization: Bearer <token>` (from any
address). Without it, only a scraper on the same machine is answered: a loopback peer whose
request came through no proxy (no X-Forwarded-For), since behind a proxy on the same host
every visitor would look local. Like /healthz it is not rate-limited (no view limit applies)
and its successful scrapes stay out of the access log.
"""

from __future__ import annotations

import hmac
import ipaddress

from flask import Blueprint, Response, current_app, jsonify, request

from zgoda import metrics

bp = Blueprint("metrics", __name__)

BEARER = "bearer "


@bp.get("/metrics")
def scrape() -> Response:
    """Every metric in Prometheus' text format; 401/403 JSON for a scraper not allowed."""
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        sent = request.headers.get("Authorization", "")
        presented = sent[len(BEARER) :].strip() if sent.lower().startswith(BEARER) else ""
        if not hmac.compare_digest(presented.encode(), str(token).encode()):
            return _refused(401, "send Authorization: Bearer <ZGODA_METRICS_TOKEN>")
    elif not _local_peer():
        return _refused(
            403, "metrics answer only local scrapers; set ZGODA_METRICS_TOKEN to scrape from afar"
        )
    response = Response(metrics.exposition(), mimetype=None, content_type=metrics.CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


def _local_peer() -> bool:
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    # The socket's peer, not a ProxyFix-rewritten address.
    peer = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR")
    try:
        return ipaddress.ip_address(peer or request.remote_addr or "").is_loopback
    except ValueError:
        return False


def _refused(status: int, message: str) -> Response:
    response = jsonify(
        error="unauthorized" if status == 401 else "forbidden", message=message, status=status
    )
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response

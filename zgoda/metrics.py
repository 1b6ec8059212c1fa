"""Prometheus metrics: what Zgoda counts, and the text a scrape reads.

The collectors live in prometheus_client's default registry, so the modules that count
(the request log, group commit, exports, rate limits, the notice registry) import this one
and nothing of the web layer. Under gunicorn, set PROMETHEUS_MULTIPROC_DIR (an empty
directory, before the app is imported): each worker then writes its numbers to files there
and a scrape of any worker reads them all (prometheus_client's multiprocess mode;
gunicorn.conf.py marks exited workers dead). Labels take only bounded values: endpoint names,
known sites, actions, severities.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
SEVERITIES = ("error", "warning", "info")  # zgoda.notices.check's
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

if multiproc_dir := os.environ.get(MULTIPROC_ENV):
    # The files are opened as the collectors below are made; a missing directory would
    # stop the import (gunicorn.conf.py empties it when the server starts).
    os.makedirs(multiproc_dir, exist_ok=True)

REQUESTS = Counter(
    "zgoda_http_requests",
    "HTTP requests answered, by Flask endpoint, method and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "zgoda_http_request_duration_seconds",
    "Time from the request's arrival to its last byte sent, by Flask endpoint.",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CONSENTS = Counter(
    "zgoda_consents_recorded",
    "Consent choices committed to the log, by site and action.",
    ["site", "action"],
)
BATCH_SIZE = Histogram(
    "zgoda_group_commit_batch_size",
    "Consent records written per group-commit transaction.",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
COMMIT_SECONDS = Histogram(
    "zgoda_group_commit_seconds",
    "Time a group-commit transaction took, from waiting for the chains to the commit.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
COMMIT_FAILURES = Counter(
    "zgoda_group_commit_failures", "Group-commit transactions that failed (every event in them)."
)
EXPORT_ROWS = Counter(
    "zgoda_export_rows", "Consent records streamed by the export API, by site and format.",
    ["site", "format"],
)  # fmt: skip
RATE_LIMITED = Counter(
    "zgoda_rate_limit_rejections",
    "Requests refused with 429, by limit (consent_writes, api_key_failures).",
    ["limit"],
)
FINDINGS = Gauge(
    "zgoda_notice_findings",
    "Completeness-check findings of the notices being served, by site and severity.",
    ["site", "severity"],
    multiprocess_mode="livemostrecent",
)
NOTICE_RELOADS = Counter(
    "zgoda_notice_reloads",
    "Notice files reloaded without a restart, by outcome (published, unchanged, refused).",
    ["outcome"],
)


def multiprocess() -> bool:
    """Whether the numbers are kept in PROMETHEUS_MULTIPROC_DIR files (several workers)."""
    return bool(os.environ.get(MULTIPROC_ENV))


# The labelled children of the per-request metrics, by their labels: `labels()` takes a lock
# and checks its arguments on every call. Bounded: endpoints x methods x statuses.
_REQUEST_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    """Count one answered request and its latency."""
    key = (endpoint or "none", method if method in METHODS else "other", status)
    children = _REQUEST_CHILDREN.get(key)
    if children is None:  # no route matched: endpoint "none" (a 404 or 405)
        children = _REQUEST_CHILDREN[key] = (
            REQUESTS.labels(key[0], key[1], str(status)),
            LATENCY.labels(key[0]),
        )
    counter, histogram = children
    counter.inc()
    histogram.observe(seconds)


# The consent counter's children by (site, action), like _REQUEST_CHILDREN: known sites only.
_CONSENT_CHILDREN: dict[tuple[str, str], Any] = {}


def observe_commit(actions: list[tuple[str, str]], seconds: float) -> None:
    """Count one committed group-commit transaction: its (site, action) pairs and duration."""
    BATCH_SIZE.observe(len(actions))
    COMMIT_SECONDS.observe(seconds)
    # One increment per (site, action) of the batch, not per record: in multiprocess mode
    # each increment is a locked write to the worker's file.
    counts: dict[tuple[str, str], int] = {}
    for key in actions:
        counts[key] = counts.get(key, 0) + 1
    for key, count in counts.items():
        child = _CONSENT_CHILDREN.get(key)
        if child is None:
            child = _CONSENT_CHILDREN[key] = CONSENTS.labels(*key)
        child.inc(count)


def export_progress(site: str, fmt: str) -> Callable[[int], None]:
    """A progress callback for export_chunks that counts the rows streamed."""
    counter = EXPORT_ROWS.labels(site, fmt)
    return counter.inc


def observe_rejection(limit: str) -> None:
    """Count one 429 of the named limit."""
    RATE_LIMITED.labels(limit).inc()


def set_findings(counts: Mapping[str, Mapping[Any, int]], gone: Collection[str] = ()) -> None:
    """The findings per site and severity now served; sites no longer served read 0."""
    for site, by_severity in counts.items():
        for severity, count in by_severity.items():
            FINDINGS.labels(site, severity).set(count)
    for site in gone:
        for severity in SEVERITIES:
            FINDINGS.labels(site, severity).set(0)


def exposition() -> bytes:
    """The scrape: this process's numbers, or every worker's in multiprocess mode."""
    if multiprocess():
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def mark_process_dead(pid: int) -> None:
    """Forget an exited worker's live gauges (gunicorn.conf.py's child_exit calls it)."""
    if multiprocess():
        _multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]

"""GET /metrics: the counters move with the requests, and only allowed scrapers read them."""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import AppFactory
from tests.servers import free_port, running_server, server_env, upgrade_database
from tests.test_api import banner, post_consent, record
from tests.test_dashboard import new_key

SITE = "optingo"


def scrape(client: FlaskClient, **headers: str) -> str:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return response.get_data(as_text=True)


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the sample `name` with exactly `labels` (0 when there is none yet)."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return 0.0


@pytest.fixture
def metrics_app(app_factory: AppFactory) -> Flask:
    return app_factory(CONSENT_RATE_LIMIT="2 per minute", API_KEY_FAILURE_LIMIT="1 per minute")


def test_the_counters_move_with_the_requests(metrics_app: Flask) -> None:
    client = metrics_app.test_client()
    before = scrape(client)
    banner(client, lang="en")
    record(client)
    record(client, action="reject_all")
    refused = post_consent(client, action="accept_all")  # the 3rd write
    assert refused.status_code == 429 and refused.get_data()  # counted once the body is sent
    key = new_key(metrics_app)
    export = client.get(
        f"/api/v1/sites/{SITE}/consents/export?format=ndjson",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert len(export.get_data(as_text=True).splitlines()) == 2
    for _ in range(2):  # the second refused key is over the failure limit
        client.get(
            f"/api/v1/sites/{SITE}/consents/export", headers={"Authorization": "Bearer zg_x_y"}
        ).get_data()
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    banners = 4  # one here, and one before each consent write (its notice version)
    assert (
        moved("zgoda_http_requests_total", endpoint="api.banner", method="GET", status="200")
        == banners
    )
    assert (
        moved(
            "zgoda_http_requests_total", endpoint="api.record_consent", method="POST", status="201"
        )
        == 2
    )
    assert (
        moved(
            "zgoda_http_requests_total", endpoint="api.record_consent", method="POST", status="429"
        )
        == 1
    )
    assert moved("zgoda_http_request_duration_seconds_count", endpoint="api.banner") == banners
    assert (
        moved("zgoda_http_request_duration_seconds_bucket", endpoint="api.banner", le="+Inf")
        == banners
    )
    assert moved("zgoda_consents_recorded_total", site=SITE, action="accept_all") == 1
    assert moved("zgoda_consents_recorded_total", site=SITE, action="reject_all") == 1
    assert moved("zgoda_group_commit_batch_size_count") == 2
    assert moved("zgoda_group_commit_batch_size_sum") == 2  # one write at a time: batches of 1
    assert moved("zgoda_group_commit_seconds_count") == 2
    assert moved("zgoda_group_commit_seconds_sum") > 0
    assert moved("zgoda_export_rows_total", site=SITE, format="ndjson") == 2
    assert moved("zgoda_rate_limit_rejections_total", limit="consent_writes") == 1
    assert moved("zgoda_rate_limit_rejections_total", limit="api_key_failures") == 1
    # The scrape before counts in the one after.
    assert (
        moved("zgoda_http_requests_total", endpoint="metrics.scrape", method="GET", status="200")
        == 1
    )


def test_the_notice_findings_are_exposed_by_severity(metrics_app: Flask) -> None:
    text = scrape(metrics_app.test_client())
    registry = metrics_app.extensions["zgoda_notices"]
    for severity in ("error", "warning", "info"):
        expected = sum(1 for f in registry.findings["xopero"] if f.severity == severity)
        assert sample(text, "zgoda_notice_findings", site="xopero", severity=severity) == expected
    assert sample(text, "zgoda_notice_findings", site="xopero", severity="error") >= 1


def test_without_a_token_only_a_local_scraper_is_answered(metrics_app: Flask) -> None:
    client = metrics_app.test_client()
    assert client.get("/metrics").status_code == 200  # the test client's peer is 127.0.0.1
    through_proxy = client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
    assert through_proxy.status_code == 403 and through_proxy.get_json()["error"] == "forbidden"
    remote = client.get("/metrics", environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert remote.status_code == 403
    assert "ZGODA_METRICS_TOKEN" in remote.get_json()["message"]


def test_with_a_token_every_scraper_must_send_it(app_factory: AppFactory) -> None:
    app = app_factory(METRICS_TOKEN="a-scrape-token-from-the-secret-store")
    client = app.test_client()
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing.get_json()["error"] == "unauthorized"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    remote = client.get(
        "/metrics",
        headers={"Authorization": "Bearer a-scrape-token-from-the-secret-store"},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert remote.status_code == 200 and "zgoda_http_requests_total" in remote.get_data(
        as_text=True
    )


def test_scrapes_are_not_rate_limited(metrics_app: Flask) -> None:
    client = metrics_app.test_client()
    assert {client.get("/metrics").status_code for _ in range(20)} == {200}


def _get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        return str(response.read().decode())


@pytest.mark.slow
def test_two_gunicorn_workers_are_scraped_as_one(tmp_path: Path) -> None:
    """In multiprocess mode any worker's scrape counts every worker's requests."""
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    env = server_env(DATABASE_URL=f"sqlite:///{tmp_path / 'zgoda.sqlite3'}")
    env["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc)
    upgrade_database(env)
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
        "--bind", f"127.0.0.1:{port}", "--workers", "2", "app:create_app()",
    ]  # fmt: skip
    log = tmp_path / "gunicorn.log"
    sent = 0
    with running_server(command, port, env, log, new_session=True) as master:
        lock = threading.Lock()

        def burst() -> None:
            nonlocal sent
            for _ in range(10):
                _get(port, f"/api/v1/sites/{SITE}/banner?lang=en")
                with lock:
                    sent += 1

        deadline = time.monotonic() + 60
        # Both workers must have answered some: their counter files name their pids.
        while (
            len({p.name for p in multiproc.glob("counter_*.db")} - {f"counter_{master.pid}.db"}) < 2
        ):
            assert time.monotonic() < deadline, "one worker answered everything"
            threads = [threading.Thread(target=burst) for _ in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        counted = {
            sample(
                _get(port, "/metrics"),
                "zgoda_http_requests_total",
                endpoint="api.banner",
                method="GET",
                status="200",
            )
            for _ in range(6)
        }
    assert counted == {sent}
    # Every line is JSON: the app's access log (gunicorn writes none), one line per banner
    # request, and gunicorn's own lines through gunicorn.conf.py's logger class.
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert len([e for e in entries if e["logger"] == "zgoda.access"]) == sent
    assert any(
        e["logger"] == "gunicorn.error" and "Booting worker" in e["message"] for e in entries
    )

"""Edited notices published without a restart: per site, banner, pages and rules together."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import ROOT, AppFactory
from tests.servers import free_port, running_server, server_env, upgrade_database
from tests.test_api import banner
from tests.test_metrics import sample
from zgoda.notices.registry import notice_registry
from zgoda.reload import reload_notices

SITE = "apifonica"
OTHER = "optingo"
VERSION_LINE = 'version: "2.1"'
DATE_LINE = 'effective_date: "2024-09-09"'


def edit(notices: Path, site: str, old: str, new: str) -> None:
    path = notices / site / "notice.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def consent(client: FlaskClient, version: str, site: str = SITE) -> tuple[int, dict[str, object]]:
    response = client.post(
        f"/api/v1/sites/{site}/consents",
        json={"action": "reject_all", "notice_version": version, "locale": "en"},
    )
    return response.status_code, response.get_json()


@pytest.fixture
def app(app_factory: AppFactory, notices_copy: Path) -> Flask:
    return app_factory(NOTICES_DIR=str(notices_copy))


def test_an_edited_notice_reaches_the_banner_pages_and_rules_together(
    app: Flask, notices_copy: Path
) -> None:
    client = app.test_client()
    before = banner(client, SITE, lang="en")["notice_version"]
    assert "2.1" in client.get(f"/{SITE}/privacy?lang=en").get_data(as_text=True)
    assert before in client.get(f"/embed/{SITE}.js").get_data(as_text=True)
    edit(notices_copy, SITE, VERSION_LINE, 'version: "2.2"')

    report = reload_notices(app)

    after = banner(client, SITE, lang="en")["notice_version"]
    assert after != before and report.published == {SITE: (before, after)}
    assert report.refused == {} and report.removed == []
    page = client.get(f"/{SITE}/privacy?lang=en").get_data(as_text=True)
    assert "<dd>2.2</dd>" in page and "<dd>2.1</dd>" not in page
    assert consent(client, after)[0] == 201
    status, body = consent(client, before)
    assert status == 409 and body["current_version"] == after
    # Both languages' banners, and the banner's own hash, are the new version's.
    polish = client.get(f"/api/v1/sites/{SITE}/banner?lang=pl").get_json()
    assert polish["notice_version"] == after
    # The per-site embed, which builds the banners in, is rebuilt from the new ones.
    script = client.get(f"/embed/{SITE}.js").get_data(as_text=True)
    assert after in script and before not in script


def test_a_broken_edit_is_refused_and_the_previous_version_serves_on(
    app: Flask, notices_copy: Path
) -> None:
    client = app.test_client()
    before = banner(client, SITE, lang="en")["notice_version"]
    other_before = banner(client, OTHER, lang="en")["notice_version"]
    edit(notices_copy, SITE, VERSION_LINE, 'version: "2.2"')
    edit(notices_copy, SITE, DATE_LINE, 'effective_date: "yesterday"')
    edit(notices_copy, OTHER, "site_name: Optingo\n", "site_name: Optingo Digital\n")  # valid

    report = reload_notices(app)

    problem = report.refused[SITE]
    assert f"{notices_copy / SITE / 'notice.yaml'}:" in problem
    assert "field 'document.effective_date'" in problem and "YYYY-MM-DD" in problem
    assert banner(client, SITE, lang="en")["notice_version"] == before
    assert "<dd>2.1</dd>" in client.get(f"/{SITE}/privacy?lang=en").get_data(as_text=True)
    assert consent(client, before)[0] == 201
    # Per site: the other site's valid edit is published all the same.
    assert SITE not in report.published and OTHER in report.published
    assert banner(client, OTHER, lang="en")["notice_version"] != other_before


def test_a_request_keeps_the_snapshot_it_started_with(app: Flask, notices_copy: Path) -> None:
    with app.test_request_context(f"/{SITE}/privacy"):
        served = notice_registry().notices[SITE]
        edit(notices_copy, SITE, VERSION_LINE, 'version: "2.2"')
        assert reload_notices(app).published
        assert notice_registry().notices[SITE] is served
        banners = app.extensions["zgoda_banners"]
        assert banners[(SITE, "en")].body["notice_version"] == served.version
    with app.test_request_context(f"/{SITE}/privacy"):
        assert notice_registry().notices[SITE].version != served.version


def test_a_reload_without_changes_publishes_nothing(app: Flask) -> None:
    snapshot = app.extensions["zgoda_notices"].latest
    report = reload_notices(app)
    assert not report.changed and report.refused == {}
    assert app.extensions["zgoda_notices"].latest is snapshot


def test_a_new_site_is_published_and_a_removed_one_leaves(app: Flask, notices_copy: Path) -> None:
    client = app.test_client()
    (notices_copy / "shop-two").mkdir()
    (notices_copy / "shop-two" / "notice.yaml").write_bytes(
        (notices_copy / SITE / "notice.yaml").read_bytes()
    )
    for path in (notices_copy / OTHER).iterdir():
        path.unlink()
    (notices_copy / OTHER).rmdir()
    report = reload_notices(app)
    assert set(report.published) == {"shop-two"} and report.removed == [OTHER]
    assert client.get("/api/v1/sites/shop-two/banner?lang=en").status_code == 200
    assert client.get(f"/api/v1/sites/{OTHER}/banner?lang=en").status_code == 404


def test_the_command_lists_what_it_validated_and_needs_a_readable_pid_file(
    app: Flask, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["notices", "reload"])
    assert result.exit_code == 0, result.output
    assert f"{SITE}: version " in result.output and "nothing was signalled" in result.output
    missing = tmp_path / "gunicorn.pid"
    result = runner.invoke(args=["notices", "reload", "--pid", str(missing)])
    assert result.exit_code == 1 and f"{missing}: not a readable pid file" in result.output
    missing.write_text("999999999\n")
    result = runner.invoke(args=["notices", "reload", "--pid", str(missing)])
    assert result.exit_code == 1 and "no process 999999999 runs" in result.output


def _get_json(port: int, path: str) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        body: dict[str, object] = json.loads(response.read())
        return body


def _get_text(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        return str(response.read().decode())


def _post_consent(port: int, version: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/sites/{SITE}/consents",
        data=json.dumps(
            {"action": "reject_all", "notice_version": version, "locale": "en"}
        ).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _versions(port: int, tries: int = 8) -> set[object]:
    """The banner's notice version as several requests (several workers) see it."""
    return {
        _get_json(port, f"/api/v1/sites/{SITE}/banner?lang=en")["notice_version"]
        for _ in range(tries)
    }


def _wait_for(port: int, expected: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _versions(port) != {expected}:
        assert time.monotonic() < deadline, f"still serving {_versions(port)}"
        time.sleep(0.2)


@pytest.mark.slow
def test_a_running_gunicorn_publishes_on_reload_and_refuses_a_broken_notice(
    tmp_path: Path, notices_copy: Path
) -> None:
    env = server_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'zgoda.sqlite3'}", NOTICES_DIR=str(notices_copy)
    )
    upgrade_database(env)
    # The server's numbers only: the commands below keep theirs to themselves.
    server = env | {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus")}
    port, pidfile, log = free_port(), tmp_path / "gunicorn.pid", tmp_path / "gunicorn.log"
    command = [
        sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--pid", str(pidfile),
        "--bind", f"127.0.0.1:{port}", "--workers", "2", "app:create_app()",
    ]  # fmt: skip
    reload_command = [sys.executable, "-m", "flask", "--app", "app", "notices", "reload"]
    with running_server(command, port, server, log, new_session=True) as master:
        (before,) = _versions(port)
        edit(notices_copy, SITE, VERSION_LINE, 'version: "2.2"')
        done = subprocess.run(
            [*reload_command, "--pid", str(pidfile)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert f"sent HUP to gunicorn's master (pid {master.pid})" in done.stdout
        new_line = [line for line in done.stdout.splitlines() if line.startswith(f"{SITE}:")]
        after = new_line[0].split()[2]
        assert after != before
        _wait_for(port, after)
        assert "<dd>2.2</dd>" in _get_text(port, f"/{SITE}/privacy?lang=en")
        assert _post_consent(port, after) == 201 and _post_consent(port, before) == 409

        # A broken edit: the command refuses it, naming file and field, and signals nothing.
        edit(notices_copy, SITE, DATE_LINE, 'effective_date: "yesterday"')
        refused = subprocess.run(
            [*reload_command, "--pid", str(pidfile)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert refused.returncode == 1
        assert f"{notices_copy / SITE / 'notice.yaml'}:" in refused.stderr
        assert "field 'document.effective_date'" in refused.stderr
        # A HUP sent by hand anyway: the master refuses it too, and the workers it starts
        # serve the last good version.
        os.kill(master.pid, signal.SIGHUP)
        deadline = time.monotonic() + 30
        while "refused, the previous version serves on" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        assert master.poll() is None
        assert _versions(port) == {after}
        assert _post_consent(port, after) == 201
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    refusals = [line for line in lines if "refused" in line["message"]]
    assert refusals and refusals[0]["level"] == "error"
    assert "field 'document.effective_date'" in refusals[0]["message"]


def test_the_metrics_follow_a_reload(app: Flask, notices_copy: Path) -> None:
    client = app.test_client()

    def scraped() -> str:
        return client.get("/metrics").get_data(as_text=True)

    before = scraped()
    info = sample(before, "zgoda_notice_findings", site=SITE, severity="info")
    edit(
        notices_copy,
        SITE,
        VERSION_LINE,
        "version:\n    not_stated:\n      pl: Bez numeru.\n      en: No number.",
    )
    reload_notices(app)
    edit(notices_copy, OTHER, "site_name: Optingo\n", "site_name: [\n")  # broken YAML
    reload_notices(app)
    after = scraped()
    # The notice now gives no document version: one more info finding.
    assert sample(after, "zgoda_notice_findings", site=SITE, severity="info") == info + 1
    for outcome in ("published", "refused"):
        moved = sample(after, "zgoda_notice_reloads_total", outcome=outcome) - sample(
            before, "zgoda_notice_reloads_total", outcome=outcome
        )
        assert moved == 1, outcome

"""The deployment examples: deploy/nginx.conf passes `nginx -t` and deploy/zgoda.service
passes `systemd-analyze verify` (Debian's nginx and systemd; `make install-dev` installs
nginx), each with a broken copy that fails, and both agree with Zgoda's settings."""

from __future__ import annotations

import http.client
import json
import re
import sqlite3
import ssl
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import ROOT

NGINX = Path("/usr/sbin/nginx")
SYSTEMD_ANALYZE = Path("/usr/bin/systemd-analyze")
DEPLOY = ROOT / "deploy"
SITE_CONFIG = (DEPLOY / "nginx.conf").read_text("utf-8")
UNIT = (DEPLOY / "zgoda.service").read_text("utf-8")
GUIDE = (ROOT / "docs" / "deploy.md").read_text("utf-8")


# --- nginx ----------------------------------------------------------------------------


def nginx_test(site_config: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on `site_config` inside a main config of its own, under a temporary prefix:
    a throwaway certificate and log directory stand in for the production paths."""
    certs, logs = tmp_path / "certs", tmp_path / "logs"
    certs.mkdir(exist_ok=True)
    logs.mkdir(exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=consent.example.com",
         "-keyout", certs / "privkey.pem", "-out", certs / "fullchain.pem"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    site = site_config.replace("/etc/letsencrypt/live/consent.example.com", str(certs))
    site = site.replace("/var/log/nginx", str(logs))
    (tmp_path / "zgoda.conf").write_text(site, "utf-8")
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {logs}/error.log;\nevents {{}}\n"
        f"http {{\n    include /etc/nginx/mime.types;\n    include {tmp_path}/zgoda.conf;\n}}\n",
        "utf-8",
    )
    return subprocess.run(
        [NGINX, "-t", "-p", tmp_path, "-c", main], capture_output=True, text=True, timeout=60
    )


def test_the_nginx_example_passes_nginx_t(tmp_path: Path) -> None:
    result = nginx_test(SITE_CONFIG, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_a_broken_nginx_example_fails_nginx_t(tmp_path: Path) -> None:
    broken = SITE_CONFIG.replace("proxy_pass http://zgoda;", "proxy_pass http://zgoda", 1)
    result = nginx_test(broken, tmp_path)
    assert result.returncode != 0
    assert "test failed" in result.stderr


def test_the_nginx_example_is_one_hop_that_sets_the_forwarded_headers() -> None:
    """ZGODA_PROXY_HOPS=1 trusts one proxy's X-Forwarded-For and -Proto: this one sets both
    (replacing what a client sent), passes Host on, and logs no addresses."""
    for location in re.findall(r"location [^{]*\{[^}]*proxy_pass[^}]*\}", SITE_CONFIG):
        assert "proxy_set_header X-Forwarded-For $remote_addr;" in location
        assert "proxy_set_header X-Forwarded-Proto $scheme;" in location
        assert "proxy_set_header Host $host;" in location
    assert "access_log off;" in SITE_CONFIG
    assert "ZGODA_PROXY_HOPS=1" in GUIDE
    assert "location = /metrics" in SITE_CONFIG


# --- systemd ---------------------------------------------------------------------------


def systemd_verify(unit: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify` on `unit`, its /opt/zgoda prefix moved to a temporary one
    whose venv/bin/gunicorn is this virtualenv's (verify checks that ExecStart exists)."""
    prefix = tmp_path / "opt-zgoda"
    (prefix / "venv" / "bin").mkdir(parents=True)
    (prefix / "venv" / "bin" / "gunicorn").symlink_to(Path(sys.executable).parent / "gunicorn")
    path = tmp_path / "zgoda.service"
    path.write_text(unit.replace("/opt/zgoda", str(prefix)), "utf-8")
    return subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", path], capture_output=True, text=True, timeout=60
    )


def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    result = systemd_verify(UNIT, tmp_path)
    assert result.returncode == 0, result.stderr
    # verify warns (and still exits 0) on keys it ignores: a clean unit prints nothing.
    assert f"{tmp_path}/zgoda.service" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("edit", "complaint"),
    [
        (("Restart=on-failure", "Restart=sometimes"), "Failed to parse service restart"),
        (("KillMode=mixed", "KilMode=mixed"), "Unknown key 'KilMode'"),
    ],
)
def test_a_broken_systemd_unit_is_reported(
    edit: tuple[str, str], complaint: str, tmp_path: Path
) -> None:
    result = systemd_verify(UNIT.replace(*edit), tmp_path)
    assert complaint in result.stderr


def test_a_missing_gunicorn_fails_verification(tmp_path: Path) -> None:
    result = systemd_verify(UNIT.replace("venv/bin/gunicorn", "venv/bin/no-gunicorn"), tmp_path)
    assert result.returncode != 0
    assert "no-gunicorn" in result.stderr


def test_the_unit_serves_the_package_and_reloads_with_hup() -> None:
    assert "gunicorn --config /etc/zgoda/gunicorn.conf.py --pid /run/zgoda/gunicorn.pid" in UNIT
    assert UNIT.count("zgoda.application:create_app()") == 1
    assert "ExecReload=/bin/kill -HUP $MAINPID" in UNIT
    assert "EnvironmentFile=/etc/zgoda/zgoda.env" in UNIT
    assert "SECRET" not in UNIT.split("EnvironmentFile", 1)[1]  # no secret in the unit itself


# --- the guide ---------------------------------------------------------------------------


def test_the_environment_example_names_only_real_settings() -> None:
    """Every ZGODA_ variable the deployment files set is a setting (unknown ones stop start-up)."""
    from zgoda.config import BY_NAME, ENV_PREFIX

    example = (DEPLOY / "zgoda.env.example").read_text("utf-8")
    named = set(re.findall(r"\b(ZGODA_[A-Z_]+)=", example + UNIT + GUIDE))
    assert named, "no settings found"
    unknown = {name for name in named if name.removeprefix(ENV_PREFIX) not in BY_NAME}
    assert unknown == set()


def test_the_guide_points_to_the_examples_and_says_what_it_cannot_test() -> None:
    for mentioned in ("deploy/nginx.conf", "deploy/zgoda.service", "deploy/zgoda.env.example"):
        assert mentioned in GUIDE
    assert "no Docker engine" in GUIDE
    assert "/readyz" in GUIDE and "/healthz" in GUIDE


# --- traffic through nginx to gunicorn -------------------------------------------------


def served_site_config(
    certs: Path, logs: Path, http_port: int, https_port: int, upstream: int
) -> str:
    """deploy/nginx.conf on loopback test ports, in front of a test gunicorn."""
    site = SITE_CONFIG.replace("/etc/letsencrypt/live/consent.example.com", str(certs))
    site = site.replace("/var/log/nginx", str(logs))
    site = site.replace("    listen [::]:80;\n", "").replace("    listen [::]:443 ssl http2;\n", "")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    assert "server 127.0.0.1:8000;" in site
    return site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream};")


def https_request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request to nginx's https port as a browser of consent.example.com would make it."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
    connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=context)
    try:
        sent = {"Host": "consent.example.com"} | (headers or {})
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def stored_networks(database: Path) -> list[str | None]:
    with closing(sqlite3.connect(database)) as connection:
        return [
            row[0] for row in connection.execute("SELECT ip_prefix FROM consent_events ORDER BY id")
        ]


@pytest.mark.slow
def test_nginx_in_front_of_gunicorn_as_the_guide_sets_them_up(tmp_path: Path) -> None:
    """One proxy hop: Zgoda sees https and the connecting address nginx sets, never the
    client's own X-Forwarded-For; http redirects; /metrics stays inside; Zgoda's JSON 413."""
    from tests.servers import free_port, running_server, server_env, upgrade_database

    nginx_test(SITE_CONFIG, tmp_path)  # makes the certificate and the log directory
    http_port, https_port, upstream = free_port(), free_port(), free_port()
    database = tmp_path / "zgoda.sqlite3"
    env = server_env(
        PUBLIC_URL="https://consent.example.com",
        PROXY_HOPS="1",
        DATABASE_URL=f"sqlite:///{database}",
    )
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
    upgrade_database(env)
    site = served_site_config(
        tmp_path / "certs", tmp_path / "logs", http_port, https_port, upstream
    )
    (tmp_path / "zgoda.conf").write_text(site, "utf-8")
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"daemon off;\nuser root;\nworker_processes 1;\npid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/logs/error.log;\nevents {{}}\n"
        f"http {{\n    include /etc/nginx/mime.types;\n    include {tmp_path}/zgoda.conf;\n}}\n",
        "utf-8",
    )
    gunicorn = [
        sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py"),
        "--bind", f"127.0.0.1:{upstream}", "--workers", "2", "app:create_app()",
    ]  # fmt: skip
    nginx = [str(NGINX), "-p", str(tmp_path), "-c", str(main)]
    with (
        running_server(gunicorn, upstream, env, tmp_path / "gunicorn.log", new_session=True),
        running_server(nginx, https_port, env, tmp_path / "nginx.log"),
    ):
        plain = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30)
        plain.request("GET", "/readyz", headers={"Host": "consent.example.com"})
        redirect = plain.getresponse()
        assert redirect.status == 301
        assert redirect.getheader("Location") == "https://consent.example.com/readyz"
        plain.close()

        status, headers, body = https_request(https_port, "GET", "/readyz")
        assert status == 200 and json.loads(body)["status"] == "ready", body
        # HSTS goes only on https answers: Zgoda took the scheme from X-Forwarded-Proto.
        assert headers["strict-transport-security"].startswith("max-age=31536000")
        # nginx's $request_id (32 hex digits) is the id Zgoda logs and returns.
        assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])

        assert https_request(https_port, "GET", "/metrics")[0] == 404

        status, _, body = https_request(https_port, "GET", "/api/v1/sites/optingo/banner?lang=en")
        version = json.loads(body)["notice_version"]
        consent = json.dumps({"notice_version": version, "locale": "en", "action": "accept_all"})
        spoofed = {"Content-Type": "application/json", "X-Forwarded-For": "203.0.113.7"}
        status, _, body = https_request(
            https_port, "POST", "/api/v1/sites/optingo/consents", consent.encode(), spoofed
        )
        assert status == 201, body
        # Straight to gunicorn, skipping the proxy, the header would be believed: the reason
        # gunicorn binds to loopback only.
        direct = http.client.HTTPConnection("127.0.0.1", upstream, timeout=30)
        direct.request(
            "POST", "/api/v1/sites/optingo/consents", body=consent,
            headers={"Host": "consent.example.com", "X-Forwarded-Proto": "https"} | spoofed,
        )  # fmt: skip
        assert direct.getresponse().status == 201
        direct.close()
        assert stored_networks(database) == ["127.0.0.0/24", "203.0.113.0/24"]

        status, headers, body = https_request(
            https_port, "POST", "/api/v1/sites/optingo/consents", b"{" + b" " * 40_000 + b"}",
            {"Content-Type": "application/json"},
        )  # fmt: skip
        assert status == 413
        assert headers["content-type"] == "application/json"  # Zgoda's answer, not nginx's page
        assert json.loads(body)["status"] == 413

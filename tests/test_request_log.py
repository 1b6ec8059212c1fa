"""The access log and application logs: JSON lines with request ids, and nothing secret in them."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import AppFactory
from tests.test_api import banner, record, verify
from tests.test_dashboard import new_key, sign_in
from zgoda.logs import JsonFormatter, TextFormatter
from zgoda.store.db import engine as app_engine
from zgoda.store.log import events_for
from zgoda.web.request_log import request_id_for

SITE = "optingo"
IPV4 = "203.0.113.77"
IPV6 = "2001:db8:1234:5678:9abc:def0:1234:5678"


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Every line written to standard error since the last call."""
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def leaks(lines: list[str], secrets: dict[str, str]) -> list[tuple[str, str]]:
    """(what, line) for each line holding one of the secrets, also as JSON escapes it."""
    found = []
    for line in lines:
        for what, secret in secrets.items():
            if secret in line or json.dumps(secret)[1:-1] in line:
                found.append((what, line))
    return found


def access_lines(lines: list[str]) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in lines]
    return [entry for entry in entries if entry["logger"] == "zgoda.access"]


@pytest.fixture
def logged_app(app_factory: AppFactory) -> Flask:
    return app_factory(LOG_FORMAT="json")


def test_a_request_gets_an_id_and_one_json_access_line(
    logged_app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    client = logged_app.test_client()
    log_lines(capsys)
    response = client.get(f"/api/v1/sites/{SITE}/banner?lang=en")
    sent = response.get_data()
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 32 and int(request_id, 16) >= 0
    (entry,) = access_lines(log_lines(capsys))
    assert entry["request_id"] == request_id
    assert entry["method"] == "GET" and entry["status"] == 200
    assert entry["route"] == "/api/v1/sites/<site>/banner"
    assert entry["endpoint"] == "api.banner" and entry["site"] == SITE
    assert entry["bytes"] == len(sent) > 0
    assert entry["duration_ms"] > 0 and entry["level"] == "info"
    assert entry["time"].endswith("Z")


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("3f2a9c1e-8b7d-4e6f-a5c4-2b1d0e9f8a7b", True),  # a UUID
        ("0123456789abcdef0123456789abcdef", True),  # nginx's $request_id
        ("a" * 128, True),
        ("a" * 129, False),  # too long
        ("has space", False),
        ('quote"d', False),
        ("line\nbreak", False),
        ("-leading-dash", False),
        ("", False),
    ],
)
def test_an_incoming_request_id_is_kept_only_when_plausible(sent: str, kept: bool) -> None:
    chosen = request_id_for(sent)
    assert (chosen == sent) is kept
    if not kept:
        assert len(chosen) == 32


def test_the_clients_request_id_is_returned_and_logged(
    logged_app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    client = logged_app.test_client()
    log_lines(capsys)
    response = client.get("/", headers={"X-Request-ID": "lb-7f3a.42"})
    response.get_data()  # the line is written once the body is sent
    assert response.headers.getlist("X-Request-ID") == ["lb-7f3a.42"]
    assert [e["request_id"] for e in access_lines(log_lines(capsys))] == ["lb-7f3a.42"]
    forged = client.get("/", headers={"X-Request-ID": 'x" "status": 200'})
    assert forged.headers["X-Request-ID"] != 'x" "status": 200'


def test_application_lines_carry_the_request_id_they_were_written_in(
    logged_app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    @logged_app.get("/_log_something")
    def log_something() -> str:
        logged_app.logger.warning("something happened")
        return "ok"

    log_lines(capsys)
    response = logged_app.test_client().get("/_log_something")
    lines = [json.loads(line) for line in log_lines(capsys)]
    (warning,) = [line for line in lines if line["message"] == "something happened"]
    assert warning["level"] == "warning" and warning["logger"] == logged_app.logger.name
    assert warning["request_id"] == response.headers["X-Request-ID"]


def test_a_500_is_logged_with_its_traceback_on_one_line(
    logged_app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    @logged_app.get("/_fail")
    def fail() -> str:
        raise RuntimeError("boom")

    logged_app.testing = False  # so the error handler answers instead of re-raising
    log_lines(capsys)
    response = logged_app.test_client().get("/_fail")
    assert response.status_code == 500 and response.get_data()
    lines = log_lines(capsys)
    entries = [json.loads(line) for line in lines]  # every line is JSON, the traceback too
    (error,) = [e for e in entries if e["level"] == "error"]
    assert "RuntimeError: boom" in error["exception"]
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert [e["status"] for e in access_lines(lines)] == [500]


def test_an_unknown_path_is_logged_without_it(
    logged_app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    log_lines(capsys)
    logged_app.test_client().get("/secret-looking/path?token=abc123").get_data()
    (entry,) = access_lines(log_lines(capsys))
    assert entry["status"] == 404 and entry["route"] is None and entry["site"] is None


def test_a_streamed_export_is_logged_with_the_bytes_sent(
    logged_app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    client = logged_app.test_client()
    record(client)
    key = new_key(logged_app)
    log_lines(capsys)
    response = client.get(
        f"/api/v1/sites/{SITE}/consents/export?format=ndjson",
        headers={"Authorization": f"Bearer {key}"},
    )
    body = response.get_data()
    response.close()
    (entry,) = access_lines(log_lines(capsys))
    assert entry["route"] == "/api/v1/sites/<site>/consents/export"
    assert entry["bytes"] == len(body) > 0


def test_successful_probes_stay_out_of_the_access_log(
    logged_app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    client = logged_app.test_client()
    log_lines(capsys)
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert access_lines(log_lines(capsys)) == []


def test_debug_logs_plain_text(app_factory: AppFactory, capsys: pytest.CaptureFixture[str]) -> None:
    app = app_factory(DEBUG=True)
    log_lines(capsys)
    response = app.test_client().get(f"/{SITE}/privacy")
    assert response.get_data()
    (line,) = [line for line in log_lines(capsys) if "zgoda.access" in line]
    assert f"[{response.headers['X-Request-ID']}] GET /<site>/privacy 200" in line
    assert not line.startswith("{")


def test_the_leak_check_finds_a_logged_token(
    logged_app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    """The session test below can fail: a token logged by mistake is found."""
    token = record(logged_app.test_client())["token"]
    log_lines(capsys)
    with logged_app.test_request_context():
        logged_app.logger.info("verifying %s", token)
    lines = log_lines(capsys)
    assert leaks(lines, {"token": token}) == [("token", lines[0])]
    # Nor does JSON's escaping hide a secret with a quote in it.
    escaped = JsonFormatter().format(logging.makeLogRecord({"msg": 'key "k\\1"'}))
    assert leaks([escaped], {"key": '"k\\1"'})


def test_a_whole_session_logs_no_address_token_key_or_cookie(
    app_factory: AppFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_factory(LOG_FORMAT="json")
    app.testing = False  # errors are answered (and logged) as in production
    secrets: dict[str, str] = {"ipv4": IPV4, "ipv6": IPV6, "ipv6 short": "2001:db8:1234:5678:"}
    log_lines(capsys)
    for n, address in enumerate((IPV4, IPV6)):
        client: FlaskClient = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        first = record(client, locale="pl")
        secrets[f"token {n}"] = first["token"]
        secrets[f"consent id {n}"] = first["consent_id"]
        again = record(client, action="reject_all", token=first["token"])
        secrets[f"token {n} again"] = again["token"]
        assert verify(client, again["token"])["valid"] is True
        forged = first["token"][:-4] + "AAAA"
        client.post(f"/api/v1/sites/{SITE}/verify", json={"token": forged}, buffered=True)
        client.post(
            f"/api/v1/sites/{SITE}/consents",
            data="{not json",
            content_type="application/json",
            buffered=True,
        )
        client.post(
            f"/api/v1/sites/{SITE}/consents", json={"token": forged, "action": "x"}, buffered=True
        )
        # The receipt link a visitor is given carries the token in its query string.
        client.get(
            f"/{SITE}/consent/{first['consent_id']}",
            query_string={"token": first["token"]},
            buffered=True,
        )
        client.get(f"/{SITE}/consent/{first['consent_id']}/receipt.json", buffered=True)

        key = new_key(app)
        secrets[f"api key {n}"] = key
        secrets[f"api key {n} secret"] = key.split("_", 2)[2]
        signed_in = sign_in(client, key)
        assert signed_in.status_code == 303 and signed_in.get_data() is not None
        session = client.get_cookie("session")
        assert session is not None
        secrets[f"session cookie {n}"] = session.value
        assert client.get(f"/admin/{SITE}?lang=en", buffered=True).status_code == 200
        wrong = key[:-6] + "zzzzzz"
        secrets[f"wrong key {n}"] = wrong
        client.get(
            f"/api/v1/sites/{SITE}/consents/export",
            headers={"Authorization": f"Bearer {wrong}"},
            buffered=True,
        )
        export = client.get(
            f"/api/v1/sites/{SITE}/consents/export?format=csv",
            headers={"Authorization": f"Bearer {key}"},
        )
        assert export.status_code == 200 and first["consent_id"] in export.get_data(as_text=True)
        export.close()
        client.get(f"/api/v1/sites/{SITE}/banner?lang=xx&token={first['token']}", buffered=True)
        client.get(f"/{SITE}/nowhere", buffered=True)
        client.delete(f"/api/v1/sites/{SITE}/banner", buffered=True)
        banner(client, SITE, lang="en")

    lines = log_lines(capsys)
    entries = [json.loads(line) for line in lines]
    statuses = {entry["status"] for entry in access_lines(lines)}
    assert {200, 201, 303, 400, 401, 404, 405, 422} <= statuses, statuses
    assert {"203.0.113.0/24", "2001:db8:1234::/48"} <= {e.get("network") for e in entries}
    assert leaks(lines, secrets) == []


def test_the_text_format_names_the_fields() -> None:
    record_ = logging.makeLogRecord(
        {"name": "zgoda.access", "msg": "GET / 200", "levelname": "INFO", "request_id": "r1"}
    )
    record_.fields = {"status": 200}
    assert TextFormatter().format(record_).endswith("INFO zgoda.access [r1] GET / 200 status=200")


@pytest.mark.parametrize(
    "created",
    [
        1764633600.0,  # a second's first millisecond
        1764633600.0004995,  # rounds down to .000
        1764633600.0009995,  # its microseconds round up to .001000
        1764633600.9999996,  # rounds up into the next second
        1764633601.123456,
        1764633599.999,
    ],
)
def test_a_lines_time_is_spelled_as_datetime_spells_it(created: float) -> None:
    """The per-second cache of the time's text gives what fromtimestamp(...).isoformat gives."""
    expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    record = logging.makeLogRecord({"msg": "m", "created": created})
    assert json.loads(JsonFormatter().format(record))["time"] == expected.replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("mode", "address", "network"),
    [
        ("truncate", IPV4, "203.0.113.0/24"),
        ("truncate", IPV6, "2001:db8:1234::/48"),
        ("drop", IPV4, None),
    ],
)
def test_a_consent_writes_access_line_names_the_network_its_record_keeps(
    app_factory: AppFactory,
    capsys: pytest.CaptureFixture[str],
    mode: str,
    address: str,
    network: str | None,
) -> None:
    """The view notes the network it worked out for the record; the line shows that one."""
    app = app_factory(LOG_FORMAT="json", IP_ADDRESS_MODE=mode)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    log_lines(capsys)
    answer = record(client, locale="pl")
    (line,) = [e for e in access_lines(log_lines(capsys)) if e["route"].endswith("/consents")]
    with app.app_context():
        (event,) = events_for(app_engine(), SITE, answer["consent_id"])
    assert line["network"] == event.ip_prefix == network
    assert banner(client, SITE, lang="pl")  # a request without a record still names it
    (read,) = [e for e in access_lines(log_lines(capsys)) if e["route"].endswith("/banner")]
    assert read["network"] == network

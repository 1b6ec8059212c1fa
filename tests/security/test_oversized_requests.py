"""Requests too large for gunicorn's own limits never reach Zgoda: 414 and 431, not a 500.

gunicorn answers these itself (limit_request_line 4094 bytes, limit_request_fields 100,
limit_request_field_size 8190), before the app sees the request; docs/security.md says so.
The body limit (MAX_CONTENT_LENGTH) is Zgoda's, answered as JSON.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port, gunicorn_command, running_server, server_env

SITE = "optingo"


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    workdir: Path = tmp_path_factory.mktemp("oversized")
    port = free_port()
    env = server_env(DATABASE_URL=f"sqlite:///{workdir / 'zgoda.sqlite3'}")
    with running_server(gunicorn_command(port, workers=1), port, env, workdir / "server.log"):
        yield port


def request(
    port: int, path: str, headers: dict[str, str] | None = None, body: bytes | None = None
) -> tuple[int, bytes, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        method = "POST" if body is not None else "GET"
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read(), response.getheader("Content-Type", "")
    finally:
        connection.close()


@pytest.mark.slow
def test_a_too_long_url_gets_414(port: int) -> None:
    status, _body, _type = request(port, f"/api/v1/sites/{SITE}/banner?lang={'x' * 5000}")
    assert status == 414


@pytest.mark.slow
def test_too_many_or_too_large_headers_get_431(port: int) -> None:
    many = {f"X-Filler-{index}": "x" for index in range(150)}
    assert request(port, f"/api/v1/sites/{SITE}/banner", many)[0] == 431
    large = {"Cookie": "zgoda_consent=" + "x" * 9000}
    assert request(port, f"/api/v1/sites/{SITE}/banner", large)[0] == 431


@pytest.mark.slow
def test_a_too_large_body_gets_the_apis_413(port: int) -> None:
    body = json.dumps({"token": "x" * 40_000}).encode()
    status, answer, media_type = request(
        port, f"/api/v1/sites/{SITE}/verify", {"Content-Type": "application/json"}, body
    )
    assert status == 413
    assert media_type == "application/json"
    assert json.loads(answer)["status"] == 413

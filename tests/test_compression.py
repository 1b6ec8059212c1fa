"""Gzip for HTML pages and JSON answers: when the client accepts it, above a size, never twice,
never for streams or files; and the favicon."""

from __future__ import annotations

import gzip

import pytest
from flask import Flask, Response, stream_with_context
from flask.testing import FlaskClient

from zgoda.web.compression import MIN_SIZE, compress_response

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
BANNER = "/api/v1/sites/optingo/banner?lang=pl"


@pytest.mark.parametrize("url", [BANNER, "/optingo/privacy?lang=pl", "/optingo/cookies?lang=en"])
def test_html_and_json_are_gzipped_when_the_client_accepts_it(
    client: FlaskClient, url: str
) -> None:
    plain = client.get(url)
    packed = client.get(url, headers=GZIP)
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data)
    assert "Accept-Encoding" in plain.headers["Vary"]
    assert "Accept-Encoding" in packed.headers["Vary"]


def test_a_refused_gzip_is_not_sent(client: FlaskClient) -> None:
    response = client.get(BANNER, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in response.headers


def test_the_gzipped_banner_still_revalidates(client: FlaskClient) -> None:
    packed = client.get(BANNER, headers=GZIP)
    etag = packed.headers["ETag"]
    assert etag != client.get(BANNER).headers["ETag"]  # the bytes differ from the plain answer's
    again = client.get(BANNER, headers=GZIP | {"If-None-Match": etag})
    assert again.status_code == 304
    assert not again.data and "Content-Encoding" not in again.headers


def test_the_embed_is_not_gzipped_twice(client: FlaskClient, app: Flask) -> None:
    response = client.get("/embed.js", headers=GZIP)
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.data) == app.extensions["zgoda_embed"].source


@pytest.mark.parametrize(
    "make",
    [
        lambda: Response("x" * 10, mimetype="text/html"),  # too small to be worth it
        lambda: Response("x" * 5000, mimetype="text/css"),  # not HTML or JSON
        lambda: Response("x" * 5000, mimetype="text/html", headers={"Content-Encoding": "br"}),
        lambda: Response(iter(["x" * 5000]), mimetype="application/json"),  # streamed
        lambda: Response("x" * 5000, status=204, mimetype="application/json"),
        lambda: Response(
            "x" * 5000, mimetype="text/html", headers={"Cache-Control": "no-transform"}
        ),
    ],
    ids=["small", "css", "encoded", "streamed", "no-content", "no-transform"],
)
def test_what_is_left_alone(app: Flask, make: object) -> None:
    with app.test_request_context(headers=GZIP):
        response = make()  # type: ignore[operator]
        response = compress_response(response)
        assert response.headers.get("Content-Encoding") in (None, "br")
        if response.headers.get("Content-Encoding") is None and not response.is_streamed:
            assert response.get_data() in (b"", b"x" * 10, b"x" * 5000)


def test_a_streamed_view_is_not_buffered(app: Flask) -> None:
    @app.get("/stream-test")
    def stream() -> Response:
        return Response(
            stream_with_context(iter(["{" + '"a":1,' * MIN_SIZE, '"b":2}'])),
            mimetype="application/json",
        )

    response = app.test_client().get("/stream-test", headers=GZIP)
    assert "Content-Encoding" not in response.headers
    assert response.data.startswith(b'{"a":1,')


def test_the_favicon_answers(client: FlaskClient) -> None:
    with client.get("/favicon.ico") as icon:
        assert icon.status_code == 200
        assert icon.mimetype == "image/x-icon"
        assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    with client.get("/static/favicon.svg") as svg:
        assert svg.status_code == 200
    page = client.get("/optingo/privacy?lang=en").get_data(as_text=True)
    assert 'rel="icon" href="/static/favicon.svg"' in page

"""Starting a notice (`notices new`), its format (`notices schema`), and the notice's own
domains letting their pages call the API."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

BANNER = "/api/v1/sites/optingo/banner"


# --- the notice's own domains ------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [
        "https://optingo.eu",
        "https://www.optingo.eu",
        "https://shop.eu.optingo.digital",
        "https://optingo.digital:8443",
    ],
)
def test_https_pages_on_the_notices_domains_may_call_the_api(
    client: FlaskClient, origin: str
) -> None:
    response = client.get(BANNER, headers={"Origin": origin})
    assert response.headers["Access-Control-Allow-Origin"] == origin
    preflight = client.options(
        "/api/v1/sites/optingo/consents",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == origin


@pytest.mark.parametrize(
    "origin",
    [
        "http://optingo.eu",  # not https
        "https://evil-optingo.eu",  # not a subdomain
        "https://optingo.eu.evil.example",
        "https://optingo.eu/path",
        "https://user@optingo.eu",
        "https://optingo.eu:notaport",
        "null",
    ],
)
def test_other_origins_are_not_let_in_by_the_domains(client: FlaskClient, origin: str) -> None:
    response = client.get(BANNER, headers={"Origin": origin})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_another_sites_domains_do_not_let_an_origin_in(client: FlaskClient) -> None:
    response = client.get("/api/v1/sites/xopero/banner", headers={"Origin": "https://optingo.eu"})
    assert "Access-Control-Allow-Origin" not in response.headers

"""Attacks on what the request says about itself: forged forwarded headers, a forged Host.

Before PROXY_HOPS and PUBLIC_URL, the banner configuration's links (cached by browsers and
proxies for five minutes) came from whatever Host header the request carried, any host
was answered, and there was no way to trust a real proxy's X-Forwarded-For.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app import create_app
from tests.conftest import AppFactory
from zgoda.store import iter_events
from zgoda.store.db import engine

SITE = "optingo"
VISITOR = "203.0.113.77"
PUBLIC_URL = "https://consent.example.com"


def consent(client: FlaskClient, headers: dict[str, str], remote: str = "10.0.0.1") -> TestResponse:
    version = client.get(f"/api/v1/sites/{SITE}/banner", headers=headers).get_json()
    body = {"action": "reject_all", "locale": "en", "notice_version": version["notice_version"]}
    return client.post(
        f"/api/v1/sites/{SITE}/consents",
        json=body,
        headers=headers,
        environ_overrides={"REMOTE_ADDR": remote},
    )


def networks(app: Flask) -> list[str | None]:
    with app.app_context():
        return [event.ip_prefix for event in iter_events(engine(), SITE)]


def test_forwarded_for_is_ignored_without_trusted_proxies(app_factory: AppFactory) -> None:
    app = app_factory()
    response = consent(app.test_client(), {"X-Forwarded-For": VISITOR})
    assert response.status_code == 201
    assert networks(app) == ["10.0.0.0/24"]  # the peer, not what the client claimed


def test_one_trusted_proxy_gives_the_visitors_network(app_factory: AppFactory) -> None:
    app = app_factory(PROXY_HOPS=1)
    # A client-forged first entry is left of the one the proxy appended: only that one counts.
    headers = {"X-Forwarded-For": f"198.51.100.9, {VISITOR}"}
    assert consent(app.test_client(), headers).status_code == 201
    assert networks(app) == ["203.0.113.0/24"]


def test_rate_limits_count_the_visitor_behind_the_proxy(app_factory: AppFactory) -> None:
    app = app_factory(PROXY_HOPS=1, CONSENT_RATE_LIMIT="2 per minute")
    client = app.test_client()
    first = {"X-Forwarded-For": VISITOR}
    assert [consent(client, first).status_code for _ in range(3)] == [201, 201, 429]
    # Another visitor behind the same proxy is not held back by the first one's writes.
    assert consent(client, {"X-Forwarded-For": "198.51.100.20"}).status_code == 201


def test_https_is_read_from_the_trusted_proxy_only(app_factory: AppFactory) -> None:
    def consent_cookie(app: Flask) -> str:
        client = app.test_client()
        version = client.get(f"/api/v1/sites/{SITE}/banner").get_json()["notice_version"]
        response = client.post(
            f"/{SITE}/cookies/preferences?lang=en",
            data={"action": "reject_all", "notice_version": version},
            headers={"X-Forwarded-Proto": "https"},
        )
        assert response.status_code == 303, response.get_data(as_text=True)
        cookies = response.headers.getlist("Set-Cookie")
        return next(cookie for cookie in cookies if cookie.startswith("zgoda_consent_"))

    assert "Secure" in consent_cookie(app_factory(PROXY_HOPS=1, WTF_CSRF_ENABLED=False))
    # Without a trusted proxy the header is the client's word: the request is plain http.
    assert "Secure" not in consent_cookie(app_factory(WTF_CSRF_ENABLED=False))


@pytest.fixture
def public_app() -> Flask:
    return _public_app()


def _public_app(**settings: Any) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "PUBLIC_URL": PUBLIC_URL,
            "TRUSTED_HOSTS": ["consent.example.com", "zgoda.internal"],
        }
        | settings
    )


def test_an_unknown_host_is_refused(public_app: Flask) -> None:
    client = public_app.test_client()
    for path in (f"/api/v1/sites/{SITE}/banner", f"/{SITE}/privacy", "/embed.js"):
        response = client.get(path, headers={"Host": "evil.example"})
        assert response.status_code == 400
        assert response.get_json()["error"] == "untrusted_host"
        assert "evil.example" in response.get_json()["message"]


def test_banner_links_come_from_the_public_url_whatever_the_host(public_app: Flask) -> None:
    client = public_app.test_client()
    # An internal name the balancer uses answers, but never leaks into the cached document.
    internal = client.get(f"/api/v1/sites/{SITE}/banner", headers={"Host": "zgoda.internal"})
    public = client.get(f"/api/v1/sites/{SITE}/banner", headers={"Host": "consent.example.com"})
    assert internal.status_code == public.status_code == 200
    assert internal.get_json()["links"] == public.get_json()["links"]
    assert internal.get_json()["links"]["consents"] == (
        f"{PUBLIC_URL}/api/v1/sites/{SITE}/consents"
    )
    assert internal.headers["ETag"] == public.headers["ETag"]


def test_forwarded_host_does_not_change_links(public_app: Flask) -> None:
    app = _public_app(PROXY_HOPS=1)
    response = app.test_client().get(
        f"/{SITE}/privacy",
        headers={"Host": "consent.example.com", "X-Forwarded-Host": "evil.example"},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'hreflang="en" href="{PUBLIC_URL}/{SITE}/privacy?lang=en"' in page
    assert "evil.example" not in page


def test_the_embed_tag_uses_the_public_url(public_app: Flask) -> None:
    result = public_app.test_cli_runner().invoke(args=["embed", "tag", SITE])
    assert result.exit_code == 0
    assert f'src="{PUBLIC_URL}/embed.' in result.output

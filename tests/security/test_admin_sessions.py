"""Dashboard sessions end for good, and cookies and HSTS follow https.

Before, the session cookie held the key id signed by Flask: signing out only removed it from
that one browser, so any copy of the cookie (a stolen one, a shared computer's) stayed
signed in until the key was revoked; sessions never expired; the cookie was never Secure,
and no response asked browsers to keep to https.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import AppFactory
from tests.test_dashboard import SITE, csrf_token, new_key, sign_in
from zgoda.store import keys

HTTPS = "https://localhost"
HSTS = "max-age=31536000; includeSubDomains"


def dashboard(client: FlaskClient, **options: str) -> str:
    response = client.get(f"/admin/{SITE}?lang=en", **options)  # type: ignore[arg-type]
    assert response.status_code == 200
    return response.get_data(as_text=True)


def signed_in(markup: str) -> bool:
    if "<svg" in markup:
        return True
    assert 'name="api_key"' in markup, "neither the dashboard nor the sign-in form"
    return False


def sign_out(client: FlaskClient) -> None:
    markup = dashboard(client)
    token = re.search(r'name="csrf_token" value="([^"]+)"', markup)
    assert token is not None
    response = client.post(f"/admin/{SITE}/sign-out", data={"csrf_token": token.group(1)})
    assert response.status_code == 303


def copy_of(client: FlaskClient, app: Flask) -> FlaskClient:
    """Another browser holding a copy of `client`'s session cookie."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    other = app.test_client()
    other.set_cookie("session", cookie.value)
    return other


def test_a_copied_cookie_stops_working_after_sign_out(db_app: Flask) -> None:
    key = new_key(db_app)
    owner, colleague = db_app.test_client(), db_app.test_client()
    assert sign_in(owner, key).status_code == 303
    assert sign_in(colleague, key).status_code == 303  # the same key, in another browser
    thief = copy_of(owner, db_app)
    assert signed_in(dashboard(thief))
    sign_out(owner)
    assert not signed_in(dashboard(owner))
    assert not signed_in(dashboard(thief))
    assert signed_in(dashboard(colleague)), "signing out ends that session only"


class Clock:
    """A frozen `datetime` for zgoda.store.keys: now() is what the test says."""

    def __init__(self) -> None:
        self.now_value = datetime.now(UTC)

    def advance(self, **delta: float) -> None:
        self.now_value += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    frozen = Clock()

    class FrozenDatetime(datetime):
        @classmethod
        def now(cls, tz: object = None) -> FrozenDatetime:  # type: ignore[override]
            return frozen.now_value  # type: ignore[return-value]

    monkeypatch.setattr(keys, "datetime", FrozenDatetime)
    yield frozen


def test_a_session_ends_after_its_lifetime(db_app: Flask, clock: Clock) -> None:
    client = db_app.test_client()
    assert sign_in(client, new_key(db_app)).status_code == 303
    # Used every 50 minutes, it outlives the idle timeout ...
    for _visit in range(9):
        clock.advance(minutes=50)
        assert signed_in(dashboard(client))
    # ... but not the eight hours from signing in (7 h 30 min so far).
    clock.advance(minutes=31)
    markup = dashboard(client)
    assert not signed_in(markup)
    assert "Your session has ended. Sign in again." in markup
    assert "Your session has ended" not in dashboard(client), "said once, then a plain form"


def test_an_unused_session_ends_after_the_idle_timeout(db_app: Flask, clock: Clock) -> None:
    client = db_app.test_client()
    assert sign_in(client, new_key(db_app)).status_code == 303
    clock.advance(minutes=59)
    assert signed_in(dashboard(client))
    clock.advance(minutes=61)
    assert not signed_in(dashboard(client))


def test_the_lifetimes_are_settings(app_factory: AppFactory, clock: Clock) -> None:
    app = app_factory(ADMIN_SESSION_LIFETIME=600, ADMIN_SESSION_IDLE_TIMEOUT=300)
    client = app.test_client()
    assert sign_in(client, new_key(app)).status_code == 303
    clock.advance(minutes=4)
    assert signed_in(dashboard(client))
    clock.advance(minutes=6)
    assert not signed_in(dashboard(client))


def test_a_session_of_one_site_does_not_sign_in_to_another(db_app: Flask) -> None:
    client = db_app.test_client()
    assert sign_in(client, new_key(db_app)).status_code == 303
    # The token moved to another site's slot of the cookie is not a session of that site.
    serializer = db_app.session_interface.get_signing_serializer(db_app)  # type: ignore[attr-defined]
    cookie = client.get_cookie("session")
    assert cookie is not None
    data = serializer.loads(cookie.value)
    data["admin_sessions"] = {"apifonica": data["admin_sessions"][SITE]}
    client.set_cookie("session", serializer.dumps(data))
    markup = client.get("/admin/apifonica?lang=en").get_data(as_text=True)
    assert "<svg" not in markup and 'name="api_key"' in markup


# --- cookies and HSTS over https ------------------------------------------------------------


def test_the_session_cookie_is_secure_over_https_only(db_app: Flask) -> None:
    client = db_app.test_client()
    page = client.get(f"/admin/{SITE}?lang=en", base_url=HTTPS)  # stores a CSRF token
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token is not None
    response = client.post(
        f"/admin/{SITE}?lang=en",
        data={"csrf_token": token.group(1), "api_key": new_key(db_app)},
        base_url=HTTPS,
        headers={"Referer": f"{HTTPS}/admin/{SITE}"},
    )
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=")
    assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie

    plain = db_app.test_client()
    csrf_token(plain)
    response = sign_in(plain, new_key(db_app))
    assert response.status_code == 303
    assert "Secure" not in response.headers["Set-Cookie"]  # the browser would drop it


def test_the_cookie_is_secure_behind_a_tls_proxy(app_factory: AppFactory) -> None:
    app = app_factory(PROXY_HOPS=1)
    response = app.test_client().get(
        f"/admin/{SITE}", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.1"}
    )
    assert "; Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"] == HSTS


@pytest.mark.parametrize(
    "path", ["/", f"/{SITE}/privacy", f"/api/v1/sites/{SITE}/banner", "/no-such-page"]
)
def test_hsts_on_every_https_response_only(app: Flask, path: str) -> None:
    client = app.test_client()
    assert client.get(path, base_url=HTTPS).headers["Strict-Transport-Security"] == HSTS
    assert "Strict-Transport-Security" not in client.get(path).headers


@pytest.mark.parametrize(
    ("setting", "sent"), [("max-age=300", "max-age=300"), ("", None)]
)  # fmt: skip
def test_hsts_is_a_setting(app_factory: AppFactory, setting: str, sent: str | None) -> None:
    default = app_factory().test_client().get("/", base_url=HTTPS)
    assert default.headers["Strict-Transport-Security"] == HSTS
    app = app_factory(STRICT_TRANSPORT_SECURITY=setting)
    response = app.test_client().get("/", base_url=HTTPS)
    assert response.headers.get("Strict-Transport-Security") == sent

"""Guessing API keys: failed attempts are limited per client network, with 429.

Before, the dashboard's sign-in form and the export API's Bearer key answered every guess,
as fast as they came, from anywhere.
"""

from __future__ import annotations

import uuid

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import AppFactory
from tests.test_dashboard import SITE, new_key, sign_in

EXPORT = f"/api/v1/sites/{SITE}/consents/export"
GUESSER = "203.0.113.50"
NEIGHBOUR = "203.0.113.51"  # the next IPv4 address is another network
LIMIT = 10  # failed attempts per network in 15 minutes, the default


def wrong_key(n: int) -> str:
    return f"zk_{n:012x}_{'x' * 43}"


def from_network(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def export(client: FlaskClient, key: str | None) -> TestResponse:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    response = client.get(EXPORT, headers=headers)
    response.get_data()  # an export streams from a database connection: finish it
    response.close()
    return response


def assert_too_many_json(response: TestResponse) -> None:
    assert response.status_code == 429
    assert response.get_json()["error"] == "too_many_requests"
    assert response.get_json()["status"] == 429
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60


def assert_too_many_page(response: TestResponse) -> None:
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    markup = response.get_data(as_text=True)
    assert "Too many failed sign-in attempts from your network." in markup
    assert 'name="api_key"' in markup  # the form, to try again later
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    assert response.headers["Cache-Control"] == "no-store"


def test_the_eleventh_failed_sign_in_is_refused(db_app: Flask) -> None:
    key = new_key(db_app)
    guesser = from_network(db_app, GUESSER)
    assert [sign_in(guesser, wrong_key(n)).status_code for n in range(LIMIT)] == [401] * LIMIT
    assert_too_many_page(sign_in(guesser, wrong_key(LIMIT)))
    # A right key is refused too until the window ends: else guesses would go on, and a
    # right one would still tell itself apart.
    assert_too_many_page(sign_in(guesser, key))
    neighbour = from_network(db_app, NEIGHBOUR)
    assert sign_in(neighbour, wrong_key(0)).status_code == 401
    assert sign_in(neighbour, key).status_code == 303


def test_the_eleventh_failed_export_is_refused(db_app: Flask) -> None:
    key = new_key(db_app)
    guesser = from_network(db_app, GUESSER)
    assert [export(guesser, wrong_key(n)).status_code for n in range(LIMIT)] == [401] * LIMIT
    assert_too_many_json(export(guesser, wrong_key(LIMIT)))
    assert_too_many_json(export(guesser, key))
    assert export(from_network(db_app, NEIGHBOUR), key).status_code == 200


def test_the_dashboard_and_the_export_api_share_the_count(db_app: Flask) -> None:
    guesser = from_network(db_app, GUESSER)
    assert {sign_in(guesser, wrong_key(n)).status_code for n in range(5)} == {401}
    assert {export(guesser, wrong_key(n)).status_code for n in range(5, LIMIT)} == {401}
    assert_too_many_json(export(guesser, wrong_key(LIMIT)))
    assert_too_many_page(sign_in(guesser, wrong_key(LIMIT)))


def test_an_ipv6_guesser_is_counted_by_its_64_network(db_app: Flask) -> None:
    for n in range(LIMIT):  # a new address of the same /64 for each guess
        assert (
            export(from_network(db_app, f"2001:db8:5:6::{n + 1:x}"), wrong_key(n)).status_code
            == 401
        )
    assert_too_many_json(export(from_network(db_app, "2001:db8:5:6::ffff"), wrong_key(LIMIT)))
    assert export(from_network(db_app, "2001:db8:5:7::1"), wrong_key(0)).status_code == 401


def test_successes_other_sites_keys_and_requests_without_a_key_do_not_count(
    db_app: Flask,
) -> None:
    key, other_sites = new_key(db_app), new_key(db_app, "apifonica")
    client = from_network(db_app, GUESSER)
    assert {export(client, key).status_code for _ in range(LIMIT + 5)} == {200}
    assert {export(client, None).status_code for _ in range(LIMIT + 5)} == {401}
    assert {export(client, other_sites).status_code for _ in range(LIMIT + 5)} == {403}
    # ... so the owner can still mistype a key ten times.
    assert {export(client, wrong_key(n)).status_code for n in range(LIMIT)} == {401}
    assert_too_many_json(export(client, key))


def test_the_limit_is_a_setting_and_shared_through_redis(app_factory: AppFactory) -> None:
    shared = {
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "RATELIMIT_KEY_PREFIX": f"zgoda-test-{uuid.uuid4().hex}",
        "API_KEY_FAILURE_LIMIT": "3 per 15 minutes",
    }
    first = from_network(app_factory(**shared), GUESSER)
    second = from_network(app_factory(**shared), GUESSER)
    assert [export(first, wrong_key(0)).status_code, export(second, wrong_key(1)).status_code,
            export(first, wrong_key(2)).status_code] == [401, 401, 401]  # fmt: skip
    assert_too_many_json(export(second, wrong_key(3)))
    assert_too_many_json(export(first, wrong_key(3)))

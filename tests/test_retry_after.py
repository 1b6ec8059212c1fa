"""A refused consent write tells the embed, across origins, how long to wait (Retry-After)."""

from __future__ import annotations

from tests.conftest import AppFactory
from tests.test_api import ALLOWED_ORIGIN, make_app, post_consent

__all__ = ["make_app"]  # the fixture, shared with the API tests


def test_a_rate_limited_write_exposes_retry_after_to_the_sites_origin(
    make_app: AppFactory,
) -> None:
    client = make_app(
        CONSENT_RATE_LIMIT="1 per minute", ALLOWED_ORIGINS=[ALLOWED_ORIGIN]
    ).test_client()
    origin = {"Origin": ALLOWED_ORIGIN}
    assert post_consent(client, headers=origin, action="accept_all").status_code == 201
    recorded = post_consent(client, headers=origin, action="accept_all")
    assert recorded.status_code == 429 and int(recorded.headers["Retry-After"]) > 0
    assert recorded.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert recorded.headers["Access-Control-Expose-Headers"] == "Retry-After"


def test_answers_without_retry_after_expose_nothing(make_app: AppFactory) -> None:
    client = make_app(ALLOWED_ORIGINS=[ALLOWED_ORIGIN]).test_client()
    answer = post_consent(client, headers={"Origin": ALLOWED_ORIGIN}, action="accept_all")
    assert answer.status_code == 201
    assert "Access-Control-Expose-Headers" not in answer.headers

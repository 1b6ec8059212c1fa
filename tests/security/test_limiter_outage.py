"""The consent limiter never costs a consent: with its Redis unreachable, writes are recorded.

Before, a consent write whose rate-limit store (RATELIMIT_STORAGE_URI) could not be reached
failed with a 500 and was lost, and a Redis that accepted connections but never answered
held the write for as long as the TCP connection lived.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from flask import Flask

from tests.conftest import AppFactory
from zgoda.store import count_events
from zgoda.store.db import engine

if TYPE_CHECKING:
    from zgoda.web.limits import Limits

SITE = "optingo"
UP = "redis://127.0.0.1:6379/0"
DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connections are refused
VISITOR = "198.51.100.20"


def limits_of(app: Flask) -> Limits:
    limits: Limits = app.extensions["zgoda_limits"]
    return limits


def make_app(app_factory: AppFactory, uri: str, **settings: object) -> Flask:
    return app_factory(
        RATELIMIT_STORAGE_URI=uri, RATELIMIT_KEY_PREFIX=f"zgoda-test-{uuid.uuid4().hex}", **settings
    )


def post(app: Flask, address: str = VISITOR) -> int:
    client = app.test_client()
    version = client.get(f"/api/v1/sites/{SITE}/banner").get_json()["notice_version"]
    response = client.post(
        f"/api/v1/sites/{SITE}/consents",
        json={"action": "reject_all", "notice_version": version, "locale": "pl"},
        environ_base={"REMOTE_ADDR": address},
    )
    return response.status_code


def recorded(app: Flask) -> int:
    with app.app_context():
        return count_events(engine(), SITE)


def store_messages(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [
        (record.levelno, record.getMessage())
        for record in caplog.records
        if "rate-limit store" in record.getMessage()
    ]


def test_consents_are_recorded_while_the_store_is_unreachable(
    app_factory: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(app_factory, DOWN)
    caplog.set_level(logging.INFO)
    # Under the default per-second limit (20), so every write is answered.
    assert [post(app) for _ in range(15)] == [201] * 15
    assert recorded(app) == 15
    messages = store_messages(caplog)
    assert len(messages) == 1, "one warning per outage, not one per request"
    level, text = messages[0]
    assert level == logging.WARNING and "unreachable" in text
    limits = limits_of(app)
    assert limits.failing_open
    assert limits.store is not None and limits.store.outages == 1
    assert limits.store.uncounted_hits == 15


def test_the_limit_is_counted_in_the_process_while_the_store_is_unreachable(
    app_factory: AppFactory,
) -> None:
    app = make_app(app_factory, DOWN, CONSENT_RATE_LIMIT="3 per minute")
    # Never stricter than memory:// would be: a flood from one network is still stopped.
    assert [post(app) for _ in range(4)] == [201, 201, 201, 429]
    assert post(app, "198.51.100.21") == 201
    assert recorded(app) == 4


def test_with_the_store_up_limits_are_shared_and_nothing_is_logged(
    app_factory: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    prefix = f"zgoda-test-{uuid.uuid4().hex}"
    shared = {"RATELIMIT_STORAGE_URI": UP, "RATELIMIT_KEY_PREFIX": prefix}
    first = app_factory(CONSENT_RATE_LIMIT="3 per minute", **shared)
    second = app_factory(CONSENT_RATE_LIMIT="3 per minute", **shared)
    caplog.set_level(logging.INFO)
    assert [post(first), post(second), post(first), post(second)] == [201, 201, 201, 429]
    assert store_messages(caplog) == []
    assert not limits_of(first).failing_open and limits_of(first).store is not None


def point_at(app: Flask, port: int) -> None:
    """Point the app's Redis client at another port, dropping its open connections."""
    store = limits_of(app).store
    assert store is not None
    pool = store.limiter.storage.storage.connection_pool  # type: ignore[attr-defined]
    pool.connection_kwargs["port"] = port
    pool.reset()  # connections made from now on use the new port


def test_an_outage_is_logged_when_it_starts_and_when_it_ends(
    app_factory: AppFactory, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(app_factory, UP)
    monkeypatch.setattr(limits_of(app).store, "RETRY_SECONDS", 0.0)  # every hit tries it
    caplog.set_level(logging.INFO)
    assert post(app) == 201
    point_at(app, 1)  # Redis goes away
    assert [post(app) for _ in range(10)] == [201] * 10
    assert limits_of(app).failing_open
    point_at(app, 6379)  # ... and comes back
    assert [post(app) for _ in range(5)] == [201] * 5
    assert not limits_of(app).failing_open
    assert [level for level, _text in store_messages(caplog)] == [logging.WARNING, logging.INFO]
    assert recorded(app) == 16


@pytest.fixture
def silent_redis() -> Iterator[str]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        listener.close()


@pytest.mark.timeout(30)
def test_a_store_that_never_answers_holds_writes_briefly(
    app_factory: AppFactory, silent_redis: str
) -> None:
    app = make_app(app_factory, silent_redis)
    started = time.monotonic()
    assert [post(app) for _ in range(10)] == [201] * 10
    # The first write waits for the client's timeouts; the rest skip the store meanwhile.
    assert time.monotonic() - started < 5
    assert limits_of(app).failing_open and recorded(app) == 10

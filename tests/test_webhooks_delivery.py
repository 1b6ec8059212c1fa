"""The webhook worker: signed POSTs, per consent id in order, backoff for a day, leases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from standardwebhooks.webhooks import Webhook

from tests.test_webhooks import make_event
from zgoda.store import append_event
from zgoda.store.db import engine as app_engine
from zgoda.store.tables import webhook_deliveries
from zgoda.webhooks.delivery import Keys, as_utc, claim, deliver_due
from zgoda.webhooks.endpoints import add_endpoint, remove_endpoint

SITE = "optingo"
KEY = "a-webhook-test-secret-of-at-least-32-bytes"
A, B = "aaaaaaaa-0000-4000-8000-000000000000", "bbbbbbbb-0000-4000-8000-000000000000"


class Clock:
    """A clock the test moves, from a second after the outbox rows were written."""

    def __init__(self) -> None:
        self.start = self.now = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Receiver:
    """Stands in for the network: checks each POST's signature, records it, answers."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.received: list[tuple[str, dict[str, Any]]] = []  # (webhook-id, data)
        self.failing: set[str] = set()  # consent ids whose events get a 503

    def __call__(self, url: str, body: str, headers: dict[str, str], timeout: float) -> str | None:
        sent_at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
        expected = Webhook(self.secret).sign(headers["webhook-id"], sent_at, body)
        assert headers["webhook-signature"] == expected
        data = json.loads(body)["data"]
        self.received.append((headers["webhook-id"], data))
        return "HTTP 503" if data["consent_id"] in self.failing else None

    def order(self) -> list[tuple[str, str]]:
        return [(data["consent_id"], data["action"]) for _, data in self.received]


@pytest.fixture
def bound(app_factory: Any) -> Engine:
    app: Flask = app_factory(SECRET_KEY=KEY)
    with app.app_context():
        return app_engine()


@pytest.fixture
def receiver(bound: Engine) -> Receiver:
    _, secret = add_endpoint(bound, SITE, "https://hooks.example.com/zgoda", KEY, [])
    return Receiver(secret)


def rows(bound: Engine) -> list[Any]:
    with bound.connect() as connection:
        return list(connection.execute(select(webhook_deliveries).order_by("id")))


def record(bound: Engine, consent_id: str, action: str) -> None:
    now = datetime.now(UTC)
    append_event(bound, make_event(consent_id=consent_id, action=action, recorded_at=now))


def test_a_delivered_event_is_signed_and_marked_delivered(
    bound: Engine, receiver: Receiver
) -> None:
    record(bound, A, "accept_all")
    clock = Clock()
    done = deliver_due(bound, Keys(KEY), send=receiver, clock=clock)
    assert (done.delivered, done.retried, done.failed) == (1, 0, 0)
    ((message_id, data),) = receiver.received
    (row,) = rows(bound)
    assert message_id == row.message_id
    assert data["consent_id"] == A and data["action"] == "accept_all"
    assert as_utc(row.delivered_at) == clock.start and row.attempts == 1 and row.failed_at is None
    assert deliver_due(bound, Keys(KEY), send=receiver, clock=clock).claimed == 0


def test_a_consent_ids_events_arrive_in_order_when_an_early_one_is_retried(
    bound: Engine, receiver: Receiver
) -> None:
    record(bound, A, "accept_all")
    record(bound, B, "accept_all")
    record(bound, A, "withdraw")
    receiver.failing.add(A)
    clock = Clock()
    done = deliver_due(bound, Keys(KEY), send=receiver, clock=clock)
    # A's second event waits behind its first, which failed; B's goes through.
    assert (done.delivered, done.retried) == (1, 1)
    assert receiver.order() == [(A, "accept_all"), (B, "accept_all")]
    clock.advance(4.9)
    assert deliver_due(bound, Keys(KEY), send=receiver, clock=clock).claimed == 0
    receiver.failing.clear()
    clock.advance(0.1)  # the first retry, 5 s after the failure
    assert deliver_due(bound, Keys(KEY), send=receiver, clock=clock).delivered == 1
    assert deliver_due(bound, Keys(KEY), send=receiver, clock=clock).delivered == 1
    assert receiver.order()[2:] == [(A, "accept_all"), (A, "withdraw")]
    first, retried = receiver.received[0][0], receiver.received[2][0]
    assert first == retried  # the same webhook-id on the retry: a receiver can drop one
    assert [row.attempts for row in rows(bound)] == [2, 1, 1]
    assert rows(bound)[0].last_error == "HTTP 503"


def test_retries_back_off_doubling_to_an_hour_and_fail_after_a_day(
    bound: Engine, receiver: Receiver
) -> None:
    record(bound, A, "accept_all")
    record(bound, A, "withdraw")
    receiver.failing.add(A)
    clock, waits = Clock(), []
    while True:
        done = deliver_due(bound, Keys(KEY), send=receiver, clock=clock)
        assert done.claimed == 1
        if done.failed:
            break
        (row, _) = rows(bound)
        wait = (as_utc(row.next_attempt_at) - clock.now).total_seconds()
        waits.append(wait)
        clock.advance(wait)
    assert waits[:6] == [5, 10, 20, 40, 80, 160]
    assert max(waits) == 3600 and waits[-1] == 3600
    first, second = rows(bound)
    assert first.failed_at is not None and first.last_error == "HTTP 503"
    created = as_utc(first.created_at)
    assert clock.now - created <= timedelta(hours=24)
    assert clock.now + timedelta(hours=1) - created > timedelta(hours=24)  # no retry fit in
    assert first.attempts == len(waits) + 1
    # The failed event no longer holds back the next one of its consent id.
    receiver.failing.clear()
    assert deliver_due(bound, Keys(KEY), send=receiver, clock=clock).delivered == 1
    assert receiver.received[-1][1]["action"] == "withdraw" and second.delivered_at is None


def test_a_claim_abandoned_by_a_killed_worker_is_sent_again_when_its_lease_ends(
    bound: Engine, receiver: Receiver
) -> None:
    record(bound, A, "accept_all")
    clock = Clock()
    (taken,) = claim(bound, clock(), timedelta(seconds=25))  # and the worker dies here
    assert deliver_due(bound, Keys(KEY), send=receiver, clock=clock).claimed == 0
    clock.advance(25)
    assert deliver_due(bound, Keys(KEY), send=receiver, clock=clock).delivered == 1
    assert receiver.received[0][0] == taken[0].message_id
    assert rows(bound)[0].attempts == 2


def test_rows_of_a_removed_endpoint_are_not_sent(bound: Engine, receiver: Receiver) -> None:
    record(bound, A, "accept_all")
    (row,) = rows(bound)
    remove_endpoint(bound, row.endpoint_id)
    assert deliver_due(bound, Keys(KEY), send=receiver, clock=Clock()).claimed == 0
    assert receiver.received == []
    assert rows(bound)[0].last_error == "the endpoint was removed"


def test_a_secret_that_no_longer_decrypts_is_an_error_on_the_row(
    bound: Engine, receiver: Receiver
) -> None:
    record(bound, A, "accept_all")
    clock = Clock()
    other = "another-key-of-at-least-32-bytes!!"
    done = deliver_due(bound, Keys(other), send=receiver, clock=clock)
    assert done.retried == 1 and receiver.received == []
    assert "does not decrypt" in rows(bound)[0].last_error
    rotated = Keys(other, (KEY,))  # the key rotated: the old one is a fallback
    clock.advance(5)
    assert deliver_due(bound, rotated, send=receiver, clock=clock).delivered == 1

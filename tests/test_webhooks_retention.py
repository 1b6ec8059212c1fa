"""The outbox's retention: done rows pruned after a while, purged records' rows with them, and a
worker that outlives a database error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.exc import OperationalError

from tests.test_webhooks import make_event
from tests.test_webhooks_delivery import KEY, SITE, A, B, Receiver, bound, receiver, record, rows
from zgoda.store import append_event
from zgoda.store.audit import purge_before
from zgoda.store.tables import webhook_deliveries
from zgoda.webhooks import delivery
from zgoda.webhooks.delivery import Keys, Round, run
from zgoda.webhooks.retention import KEEP_DELIVERED, KEEP_FAILED, prune_outbox

__all__ = ["bound", "receiver"]  # the fixtures, shared with the delivery tests
NOW = datetime.now(UTC).replace(microsecond=0)


def set_row(bound: Engine, row_id: int, **values: Any) -> None:
    with bound.begin() as connection:
        connection.execute(
            update(webhook_deliveries).where(webhook_deliveries.c.id == row_id).values(**values)
        )


def test_done_rows_are_pruned_after_their_keeping_time_and_pending_ones_never(
    bound: Engine, receiver: Receiver
) -> None:
    for consent_id in (A, B, A, B, A):
        record(bound, consent_id, "accept_all")
    old_delivered, new_delivered, old_failed, new_failed, pending = (r.id for r in rows(bound))
    day = timedelta(days=1)
    set_row(bound, old_delivered, delivered_at=NOW - KEEP_DELIVERED - day)
    set_row(bound, new_delivered, delivered_at=NOW - KEEP_DELIVERED + day)
    set_row(bound, old_failed, failed_at=NOW - KEEP_FAILED - day, last_error="HTTP 500")
    set_row(bound, new_failed, failed_at=NOW - KEEP_FAILED + day, last_error="HTTP 500")
    set_row(bound, pending, created_at=NOW - 60 * day, next_attempt_at=NOW - 60 * day)
    assert prune_outbox(bound, NOW) == 2
    assert [r.id for r in rows(bound)] == [new_delivered, new_failed, pending]


def test_a_retention_purge_deletes_the_outbox_rows_of_the_purged_records(
    bound: Engine, receiver: Receiver
) -> None:
    old = NOW - timedelta(days=400)
    for recorded_at in (old, old + timedelta(seconds=1), NOW):
        append_event(
            bound, make_event(consent_id=A, recorded_at=recorded_at, expires_at=recorded_at)
        )
    sequences = [r.sequence for r in rows(bound)]
    assert purge_before(bound, SITE, NOW - timedelta(days=365), NOW) == 2
    assert [r.sequence for r in rows(bound)] == sequences[2:]


def test_the_running_worker_outlives_a_database_error(
    bound: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    rounds: list[str] = []

    def flaky(*args: Any, **kwargs: Any) -> Round:
        rounds.append("round")
        if len(rounds) == 1:
            raise OperationalError("SELECT 1", {}, Exception("the database restarted"))
        return Round()

    class Stop(Exception):
        pass

    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 2:
            raise Stop

    monkeypatch.setattr(delivery, "deliver_due", flaky)
    monkeypatch.setattr(delivery.time, "sleep", sleep)
    with pytest.raises(Stop):
        run(bound, Keys(KEY), poll=0.5)
    # The error paused the worker (DB_RETRY), then it went on: a second round, then its poll.
    assert rounds == ["round", "round"] and pauses == [delivery.DB_RETRY, 0.5]


def test_once_lets_a_database_error_out(bound: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Round:
        raise OperationalError("SELECT 1", {}, Exception("no database"))

    monkeypatch.setattr(delivery, "deliver_due", broken)
    with pytest.raises(OperationalError):
        run(bound, Keys(KEY), once=True)

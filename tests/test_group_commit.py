"""Group commit: events that arrive together share a transaction, and nothing is half-written."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, text

from tests.test_store import make_event
from zgoda.errors import StorageError
from zgoda.store import group_commit as group_commit_module
from zgoda.store.appender import ChainSql, Heads, write_events
from zgoda.store.audit import verify_site
from zgoda.store.db import engine as app_engine
from zgoda.store.event import ConsentEvent
from zgoda.store.group_commit import GroupCommit
from zgoda.store.log import count_events

THREADS = 12


@pytest.fixture
def log(db_app: Flask) -> Engine:
    with db_app.app_context():
        return app_engine()


def event_for(index: int, site: str = "optingo") -> ConsentEvent:
    return make_event(site_id=site, consent_id=str(uuid.UUID(int=index + 1, version=4)))


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0..count-1) at once on `count` threads; each one's result or exception."""
    results: list[Any] = [None] * count
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = work(index)
        except BaseException as error:  # a KeyboardInterrupt too: it is a result here
            results[index] = error

    # Daemons: a regression that leaves a request waiting fails the test, not the run.
    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    return results


def behind_a_slow_first(count: int, work: Callable[[int], Any], sizes: list[int]) -> list[Any]:
    """work(0) alone, then work(1..count-1) at once while work(0)'s transaction is running."""
    first: list[Any] = []

    def run_first() -> None:
        try:
            first.append(work(0))
        except BaseException as error:
            first.append(error)

    thread = threading.Thread(target=run_first, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not sizes and time.monotonic() < deadline:
        time.sleep(0.005)
    rest = in_threads(count - 1, lambda index: work(index + 1))
    thread.join(timeout=30)
    return first + rest


def slow_first_batch(monkeypatch: pytest.MonkeyPatch, fail: bool = False) -> list[int]:
    """Make the first transaction slow (so the others queue behind it); record batch sizes."""
    sizes: list[int] = []

    def recording(
        cursor: Any, sql: ChainSql, events: list[ConsentEvent], heads: Heads
    ) -> list[int]:
        sizes.append(len(events))
        if len(sizes) == 1:
            time.sleep(0.3)
        if fail and len(sizes) == 2:
            raise RuntimeError("the disk is full")
        return write_events(cursor, sql, events, heads)

    monkeypatch.setattr(group_commit_module, "write_events", recording)
    return sizes


def test_events_that_arrive_together_share_a_transaction(
    log: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = slow_first_batch(monkeypatch)
    writer = GroupCommit(log)
    site = {i: "optingo" if i % 3 else "xopero" for i in range(THREADS)}
    sequences = behind_a_slow_first(THREADS, lambda i: writer.append(event_for(i, site[i])), sizes)
    assert sizes[0] == 1 and sum(sizes) == THREADS
    assert max(sizes) > 1  # the appends that queued behind the first shared transactions
    for name in ("optingo", "xopero"):
        mine = sorted(sequences[i] for i in range(THREADS) if site[i] == name)
        assert mine == list(range(1, len(mine) + 1))  # one unbroken numbering per site
        report = verify_site(log, name)
        assert report.ok and report.checked == len(mine)


def test_a_failed_transaction_fails_each_of_its_events_and_records_none(
    log: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = slow_first_batch(monkeypatch, fail=True)
    writer = GroupCommit(log)
    results = behind_a_slow_first(THREADS, lambda i: writer.append(event_for(i)), sizes)
    failed = [r for r in results if isinstance(r, StorageError)]
    written = [r for r in results if isinstance(r, int)]
    assert len(failed) == sizes[1] > 1 and "the disk is full" in str(failed[0])
    assert len(written) == THREADS - len(failed)
    assert count_events(log) == len(written)  # nothing of the failed transaction is kept
    assert sorted(written) == list(range(1, len(written) + 1))
    assert writer.append(event_for(99)) == len(written) + 1  # and the log goes on
    assert verify_site(log, "optingo").ok


def test_one_request_alone_is_written_at_once(log: Engine) -> None:
    writer = GroupCommit(log)
    assert [writer.append(event_for(i)) for i in range(3)] == [1, 2, 3]
    assert verify_site(log, "optingo").checked == 3


def test_an_interrupted_transaction_answers_no_one_as_written(
    log: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(cursor: Any, sql: ChainSql, events: list[ConsentEvent], heads: Heads) -> None:
        raise KeyboardInterrupt  # not an Exception: the leader's own request dies with it

    monkeypatch.setattr(group_commit_module, "write_events", interrupted)
    writer = GroupCommit(log)
    pending = [group_commit_module._Pending(event_for(i)) for i in range(3)]
    writer._queued = list(pending)
    with pytest.raises(KeyboardInterrupt):
        writer._write_next()
    assert all(p.done and p.failure == "the transaction did not finish" for p in pending)
    assert count_events(log) == 0


def test_when_the_leader_dies_the_requests_queued_behind_it_are_still_written(
    log: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []

    def second_interrupted(
        cursor: Any, sql: ChainSql, events: list[ConsentEvent], heads: Heads
    ) -> list[int]:
        sizes.append(len(events))
        if len(sizes) == 1:
            time.sleep(0.3)  # the other threads queue behind the first transaction
        if len(sizes) == 2:
            raise KeyboardInterrupt  # its leader's request dies; the rest are queued behind
        return write_events(cursor, sql, events, heads)

    monkeypatch.setattr(group_commit_module, "write_events", second_interrupted)
    monkeypatch.setattr(group_commit_module, "MAX_BATCH", 4)
    writer = GroupCommit(log)
    results = behind_a_slow_first(THREADS, lambda i: writer.append(event_for(i)), sizes)
    assert sizes[:2] == [1, 4]
    assert sum(isinstance(r, KeyboardInterrupt) for r in results) == 1
    assert sum(isinstance(r, StorageError) for r in results) == 3  # its batch: none written
    written = sorted(r for r in results if isinstance(r, int))
    assert written == list(range(1, THREADS - 4 + 1))  # everyone else: written, in order
    assert count_events(log) == len(written) and verify_site(log, "optingo").ok


def test_a_leader_interrupted_before_it_took_any_event_hands_the_lead_on(
    log: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[int] = []
    real_open = GroupCommit._open

    def open_interrupted_once(self: GroupCommit) -> Any:
        opened.append(1)
        if len(opened) == 1:
            time.sleep(0.3)  # the other threads queue behind it
            raise KeyboardInterrupt  # before it took any event, its own still queued
        return real_open(self)

    monkeypatch.setattr(GroupCommit, "_open", open_interrupted_once)
    writer = GroupCommit(log)
    results = behind_a_slow_first(THREADS, lambda i: writer.append(event_for(i)), opened)
    assert isinstance(results[0], KeyboardInterrupt)
    assert sorted(results[1:]) == list(range(1, THREADS))  # the others: written, none lost
    assert count_events(log) == THREADS - 1 and verify_site(log, "optingo").ok


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_writer_whose_connection_was_cut_reconnects_without_failing_a_request(
    log: Engine, postgres_url: str
) -> None:
    writer = GroupCommit(log)
    assert writer.append(event_for(0)) == 1  # the writer now holds its connection
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:  # as a restart of the database server would
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    admin.dispose()
    assert writer.append(event_for(1)) == 2
    assert verify_site(log, "optingo").checked == 2

"""Group commit: events that arrive together share a transaction, and nothing is half-written."""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any, NoReturn

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, text

from tests.test_store import make_event
from zgoda.errors import StorageError
from zgoda.store.appender import ChainSql, Heads, write_events
from zgoda.store.audit import verify_site
from zgoda.store.db import engine as app_engine
from zgoda.store.event import ConsentEvent
from zgoda.store.group_commit import GroupCommit, WriteEvents
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


def in_background(
    count: int, work: Callable[[int], Any], until: Callable[[], bool]
) -> Callable[[], list[Any]]:
    """Start work(0), then once `until` holds work(1..count-1), each on its own thread;
    returns a function that waits for them and gives their results."""
    results: list[Any] = [None] * count
    threads: list[threading.Thread] = []

    def run(index: int) -> None:
        try:
            results[index] = work(index)
        except BaseException as error:
            results[index] = error

    for index in range(count):
        threads.append(threading.Thread(target=run, args=(index,), daemon=True))
        threads[-1].start()
        if index == 0:
            wait_until(until)

    def finish() -> list[Any]:
        for thread in threads:
            thread.join(timeout=30)
        return results

    return finish


def behind_a_slow_first(count: int, work: Callable[[int], Any], started: list[Any]) -> list[Any]:
    """work(0) alone, then work(1..count-1) at once once work(0) has `started` its write."""
    first: list[Any] = []

    def run_first() -> None:
        try:
            first.append(work(0))
        except BaseException as error:
            first.append(error)

    thread = threading.Thread(target=run_first, daemon=True)
    thread.start()
    wait_until(lambda: bool(started))
    rest = in_threads(count - 1, lambda index: work(index + 1))
    thread.join(timeout=30)
    return first + rest


def wait_until(condition: Callable[[], bool], seconds: float = 10) -> None:
    """Poll `condition` until it holds (a test that waits in vain fails on its asserts)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)


def queued_behind_the_first(
    writer: Callable[[], GroupCommit], queued: int, fail: bool = False
) -> tuple[WriteEvents, list[int]]:
    """A `write` whose first transaction waits until `queued` requests queue behind it (so
    they share the next ones), failing the second with `fail`; and the batch sizes seen.

    `writer` is called only then, so it may give the writer made with this `write`."""
    sizes: list[int] = []

    def recording(
        cursor: Any, sql: ChainSql, events: list[ConsentEvent], heads: Heads
    ) -> list[int]:
        sizes.append(len(events))
        if len(sizes) == 1:
            wait_until(lambda: writer().pending() == queued)
        if fail and len(sizes) == 2:
            raise RuntimeError("the disk is full")
        return write_events(cursor, sql, events, heads)

    return recording, sizes


def test_events_that_arrive_together_share_a_transaction(log: Engine) -> None:
    write, sizes = queued_behind_the_first(lambda: writer, THREADS - 1)
    writer = GroupCommit(log, write=write)
    site = {i: "optingo" if i % 3 else "xopero" for i in range(THREADS)}
    sequences = behind_a_slow_first(THREADS, lambda i: writer.append(event_for(i, site[i])), sizes)
    assert sizes[0] == 1 and sum(sizes) == THREADS
    assert max(sizes) > 1  # the appends that queued behind the first shared transactions
    for name in ("optingo", "xopero"):
        mine = sorted(sequences[i] for i in range(THREADS) if site[i] == name)
        assert mine == list(range(1, len(mine) + 1))  # one unbroken numbering per site
        report = verify_site(log, name)
        assert report.ok and report.checked == len(mine)


def test_a_failed_transaction_fails_each_of_its_events_and_records_none(log: Engine) -> None:
    write, sizes = queued_behind_the_first(lambda: writer, THREADS - 1, fail=True)
    writer = GroupCommit(log, write=write)
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


def test_an_interrupted_transaction_answers_no_one_as_written(log: Engine) -> None:
    first, sizes = queued_behind_the_first(lambda: writer, 3)

    def second_interrupted(
        cursor: Any, sql: ChainSql, events: list[ConsentEvent], heads: Heads
    ) -> list[int]:
        if sizes:
            sizes.append(len(events))
            raise KeyboardInterrupt  # not an Exception: the leader's own request dies with it
        return first(cursor, sql, events, heads)

    writer = GroupCommit(log, write=second_interrupted)
    results = behind_a_slow_first(4, lambda i: writer.append(event_for(i)), sizes)
    assert sizes == [1, 3] and results[0] == 1
    interrupted = [r for r in results if isinstance(r, KeyboardInterrupt)]
    failed = [r for r in results if isinstance(r, StorageError)]
    assert len(interrupted) == 1  # the leader of the three
    assert [str(r) for r in failed] == ["the transaction did not finish"] * 2  # the other two
    assert count_events(log) == 1


def test_when_the_leader_dies_the_requests_queued_behind_it_are_still_written(
    log: Engine,
) -> None:
    first, sizes = queued_behind_the_first(lambda: writer, THREADS - 1)

    def second_interrupted(
        cursor: Any, sql: ChainSql, events: list[ConsentEvent], heads: Heads
    ) -> list[int]:
        if len(sizes) == 1:
            sizes.append(len(events))
            raise KeyboardInterrupt  # its leader's request dies; the rest are queued behind
        if sizes:
            sizes.append(len(events))
            return write_events(cursor, sql, events, heads)
        return first(cursor, sql, events, heads)

    writer = GroupCommit(log, write=second_interrupted, max_batch=4)
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
    real_connection = log.raw_connection

    def connection_interrupted_once() -> Any:
        opened.append(1)
        if len(opened) == 1:
            wait_until(lambda: writer.pending() == THREADS)  # the others queue behind it
            raise KeyboardInterrupt  # before it took any event, its own still queued
        return real_connection()

    monkeypatch.setattr(log, "raw_connection", connection_interrupted_once)
    writer = GroupCommit(log)
    results = behind_a_slow_first(THREADS, lambda i: writer.append(event_for(i)), opened)
    assert isinstance(results[0], KeyboardInterrupt)
    assert sorted(results[1:]) == list(range(1, THREADS))  # the others: written, none lost
    assert count_events(log) == THREADS - 1 and verify_site(log, "optingo").ok


# --- every wait is bounded --------------------------------------------------------------------


def test_a_request_behind_a_leader_that_never_finishes_fails_within_the_timeout(
    log: Engine,
) -> None:
    started, release = [], threading.Event()

    def stuck(cursor: Any, sql: ChainSql, events: list[ConsentEvent], heads: Heads) -> list[int]:
        started.append(len(events))
        release.wait(30)  # the database hangs
        return write_events(cursor, sql, events, heads)

    writer = GroupCommit(log, write=stuck, wait_timeout=0.5)
    leader = threading.Thread(target=writer.append, args=(event_for(0),), daemon=True)
    leader.start()
    wait_until(lambda: bool(started))
    began = time.monotonic()
    with pytest.raises(StorageError, match=r"within 0\.5 s; it was not written$"):
        writer.append(event_for(1))
    assert 0.5 <= time.monotonic() - began < 2.5
    assert writer.pending() == 0  # it left the queue: no later transaction writes it
    release.set()
    leader.join(timeout=10)
    assert count_events(log) == 1 and verify_site(log, "optingo").ok
    assert writer.append(event_for(2)) == 2  # and the log goes on


def test_a_request_whose_event_a_stuck_transaction_took_fails_within_the_timeout_too(
    log: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    opening, started, release = [], [], threading.Event()
    real_connection = log.raw_connection

    def slow_first_connection() -> Any:  # the leader connects once the follower queued too
        opening.append(1)
        if len(opening) == 1:
            wait_until(lambda: writer.pending() == 2)
        return real_connection()

    def stuck(cursor: Any, sql: ChainSql, events: list[ConsentEvent], heads: Heads) -> list[int]:
        started.append(len(events))
        release.wait(30)
        return write_events(cursor, sql, events, heads)

    monkeypatch.setattr(log, "raw_connection", slow_first_connection)
    writer = GroupCommit(log, write=stuck, wait_timeout=0.5)
    leader = threading.Thread(target=writer.append, args=(event_for(0),), daemon=True)
    leader.start()
    wait_until(lambda: bool(opening))
    began = time.monotonic()
    with pytest.raises(StorageError, match=r"within 0\.5 s; its transaction had not ended"):
        writer.append(event_for(1))
    assert 0.5 <= time.monotonic() - began < 2.5
    assert started == [2]  # the leader took both
    release.set()
    leader.join(timeout=10)
    # What a timeout cannot undo: the transaction went on and wrote the abandoned event.
    assert count_events(log) == 2 and verify_site(log, "optingo").ok


# --- a forked child starts afresh ---------------------------------------------------------


def wait_for_child(pid: int, seconds: float = 30) -> int:
    """The exit code of child `pid`; killed (and the test failed) if it takes longer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung")


def in_child(check: Callable[[], int]) -> NoReturn:
    """End a forked child with the exit code of `check` (4 if it raised), never returning
    into pytest."""
    code = 4
    try:
        code = check()
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def test_a_forked_child_has_none_of_the_parents_queue_leader_or_locks(
    log: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    opening, release = [], threading.Event()
    real_connection = log.raw_connection

    def stalled_first_connection() -> Any:
        opening.append(1)
        if len(opening) == 1:  # the parent's leader: holding the lead and the writer's lock
            release.wait(30)
        return real_connection()

    monkeypatch.setattr(log, "raw_connection", stalled_first_connection)
    writer = GroupCommit(log, wait_timeout=5)
    results = in_background(2, lambda i: writer.append(event_for(i)), until=lambda: bool(opening))
    wait_until(lambda: writer.pending() == 2)  # the leader's event and one queued behind it

    def child() -> int:
        log.dispose(close=False)  # as a forked app must: the pool's connections are the parent's
        if writer.pending() != 0:
            return 2
        # With the parent's leader or lock inherited, this would wait for a thread not here.
        return 0 if writer.append(event_for(99)) == 1 else 3

    pid = os.fork()
    if pid == 0:
        in_child(child)
    try:
        assert wait_for_child(pid) == 0
    finally:
        release.set()
    assert sorted(results()) == [2, 3]  # the parent's two: written once, by the parent
    assert count_events(log) == 3 and verify_site(log, "optingo").checked == 3


def test_a_forked_child_neither_uses_nor_closes_the_parents_connection(log: Engine) -> None:
    connections: list[Any] = []

    def recording(
        cursor: Any, sql: ChainSql, events: list[ConsentEvent], heads: Heads
    ) -> list[int]:
        connections.append(cursor.connection)
        return write_events(cursor, sql, events, heads)

    writer = GroupCommit(log, write=recording)
    assert writer.append(event_for(0)) == 1  # the writer now holds its connection

    def child() -> int:
        log.dispose(close=False)  # the writer's own connection is not the pool's to drop
        if writer.append(event_for(1)) != 2:
            return 2
        if connections[-1] is connections[0]:
            return 3  # it wrote on the parent's connection
        log.dispose()  # closes the child's own connections, and only those
        return 0

    pid = os.fork()
    if pid == 0:
        in_child(child)
    assert wait_for_child(pid) == 0
    assert writer.append(event_for(2)) == 3
    # The same connection, still open (on PostgreSQL a closed one would have been replaced).
    assert len(connections) == 2 and connections[1] is connections[0]
    assert verify_site(log, "optingo").checked == 3


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

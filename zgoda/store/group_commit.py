"""Group commit: appends that arrive together in one process share a transaction.

Each append must be on disk before its request is answered, and each holds its site's chain
head until then, so one at a time a process could write no faster than its disk syncs. Here
request threads queue their events and one of them, the leader, writes for all: it first
waits for the right to extend the chains (the SQLite write turn, or the PostgreSQL head
rows), then takes every event queued by then (the queue grows while it waits for other
processes), links them in one transaction and commits once. Nobody is answered before the
commit that holds their event, and a failed commit fails every event in it (nothing is
half-written). The leader then hands the lead to the first thread still queued.

A request waits `wait_timeout` seconds at most for another thread's transaction (a leader
stuck on the database, say), then fails with StorageError (503): its event is dropped if
still queued, but a transaction that took it already may yet commit it. So a 201 always
means written, a 503 almost always not. The leader's own wait is bounded by the database.
A forked child starts afresh (`os.register_at_fork`): no queue, no leader, new locks, and
not the parent's connection, which it must neither use nor close.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, PoolProxiedConnection, event

from zgoda import metrics
from zgoda.errors import StorageError
from zgoda.store.appender import ChainSql, Heads, chain_sql, lock_heads, write_events
from zgoda.store.db import writer_turn
from zgoda.store.event import ConsentEvent

# Events per transaction at most: a burst is written in a few commits, not one long one.
MAX_BATCH = 64
# Seconds a request waits for the transaction that holds its event: far beyond a commit's
# few milliseconds, and short enough that a stuck database answers 503, not a hung request.
WAIT_TIMEOUT = 10.0

# Links a batch of events onto the locked heads and inserts them (appender.write_events).
WriteEvents = Callable[[Any, ChainSql, list[ConsentEvent], Heads], list[int]]


@dataclass(eq=False)  # each is itself: compared and hashed by identity
class _Pending:
    """One queued event and, once its transaction ended, its sequence or the failure."""

    event: ConsentEvent
    wake: threading.Event = field(default_factory=threading.Event)  # done, or now the leader
    lead: bool = False
    done: bool = False
    sequence: int = 0
    failure: str | None = None


class GroupCommit:
    """Appends events to one engine's log, several per transaction when they arrive together.

    `write` is what a transaction runs on its cursor once the heads are locked
    (`appender.write_events`); tests pass one that is slow or fails, and watch `pending()`.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        write: WriteEvents = write_events,
        max_batch: int = MAX_BATCH,
        wait_timeout: float = WAIT_TIMEOUT,
    ):
        self._engine = engine
        self._sql: ChainSql = chain_sql(engine.dialect)
        self._write = write
        self.max_batch = max_batch
        self.wait_timeout = wait_timeout
        self._start_afresh()
        _instances.add(self)
        event.listen(engine, "engine_disposed", self._release)

    def _start_afresh(self) -> None:
        """The per-process state: made here, and again in a forked child."""
        self._lock = threading.Lock()  # guards the queue and who leads
        self._queued: list[_Pending] = []
        self._led = False  # a thread is leading (writing, or about to)
        # The writer's own connection, held while the process lives (opened on first use,
        # again after a failure): no pool checkout or ping per transaction. The one rule:
        # only a thread holding `_connection_lock` uses, replaces or closes it. The leader
        # holds it for its whole transaction, so nobody closes it under a transaction.
        self._connection_lock = threading.Lock()
        self._connection: PoolProxiedConnection | None = None

    def pending(self) -> int:
        """How many events are queued and not yet taken into a transaction."""
        with self._lock:
            return len(self._queued)

    def append(self, event: ConsentEvent) -> int:
        """Append `event` once its transaction has committed; returns its sequence number.

        StorageError if that transaction failed, or did not end within `wait_timeout`.
        """
        deadline = time.monotonic() + self.wait_timeout
        pending = _Pending(event)
        with self._lock:
            self._queued.append(pending)
            if not self._led:
                self._led = pending.lead = True
        while not pending.done:
            if not pending.lead:
                woken = pending.wake.wait(max(0.0, deadline - time.monotonic()))
                if not woken and (outcome := self._give_up(pending)) is not None:
                    raise StorageError(
                        f"no answer from the consent log within {self.wait_timeout:g} s; " + outcome
                    )
                continue
            try:
                self._write_next()
            except BaseException:  # the leader's own request dies: the others go on
                self._hand_on_lead(leaving=pending)
                raise
            if pending.done:
                self._hand_on_lead()
        if pending.failure is not None:
            raise StorageError(pending.failure)
        return pending.sequence

    def _give_up(self, pending: _Pending) -> str | None:
        """Withdraw `pending`, whose wait timed out; what became of its event (None: its
        transaction ended just now, and it has its answer after all)."""
        with self._lock:
            if pending.done:
                return None
            if pending not in self._queued:
                return "its transaction had not ended, and may still write it"
            self._queued.remove(pending)
            if pending.lead:  # made the leader just now: the next in line leads instead
                self._lead_next()
            return "it was not written"

    def _hand_on_lead(self, leaving: _Pending | None = None) -> None:
        """Make the first queued thread the leader; `leaving`, still queued or not, leaves."""
        with self._lock:
            if leaving is not None and leaving in self._queued:
                self._queued.remove(leaving)  # nobody will wait for its answer
            self._lead_next()

    def _lead_next(self) -> None:  # under self._lock
        if self._queued:
            successor = self._queued[0]
            successor.lead = True
            successor.wake.set()
        else:
            self._led = False

    def _write_next(self) -> None:
        """One transaction: the events queued once the chains are ours, up to max_batch."""
        batch: list[_Pending] = []
        # Every event fails unless the commit is reached: even an interruption that is not
        # an Exception must not let a waiting request answer 201 for an event never written.
        failure: str | None = "the transaction did not finish"
        started = time.perf_counter()
        try:
            sequences = self._transaction(batch)
            for pending, sequence in zip(batch, sequences, strict=True):
                pending.sequence = sequence
            failure = None
            metrics.observe_commit(
                [(p.event.site_id, p.event.action) for p in batch], time.perf_counter() - started
            )
        except Exception as error:  # each waiting request reports it; the transaction rolled back
            failure = f"{type(error).__name__}: {error}"
            metrics.COMMIT_FAILURES.inc()
            if not batch:  # it failed before taking any (no connection): fail those queued
                self._take(batch)
        finally:
            for pending in batch:
                pending.failure = failure
                pending.done = True
                pending.wake.set()

    def _take(self, batch: list[_Pending], sites: set[str] | None = None) -> list[ConsentEvent]:
        """Move queued events (of `sites`, if given) into `batch`; returns their events."""
        with self._lock:
            for pending in self._queued:
                if len(batch) == self.max_batch:
                    break
                if sites is None or pending.event.site_id in sites:
                    batch.append(pending)
            taken = set(batch)
            self._queued = [pending for pending in self._queued if pending not in taken]
        return [pending.event for pending in batch]

    def _transaction(self, batch: list[_Pending]) -> list[int]:
        """Write the next batch in one transaction on the writer's connection and commit."""
        with self._connection_lock:
            retried = False
            while True:
                connection = self._open()
                try:
                    return self._transaction_on(connection, batch)
                except Exception:
                    broken = self._abandon(connection)
                    # Broken before any event was taken (the database restarted since the
                    # last write, say): only the heads were read, so once more on a new one.
                    if retried or batch or not broken:
                        raise
                    retried = True
                except BaseException:  # interrupted: the transaction's state is unknown
                    self._abandon(connection)
                    raise

    def _transaction_on(
        self, connection: PoolProxiedConnection, batch: list[_Pending]
    ) -> list[int]:
        dbapi: Any = connection.dbapi_connection
        if self._sql.postgresql:
            # PostgreSQL locks each site's head row on its own, so the sites are chosen
            # before the locks are awaited: those queued now. Events queued meanwhile (the
            # heads may be held by another instance) join this transaction if their site's
            # head is among those locked; the others wait for the next transaction.
            with self._lock:
                sites = {pending.event.site_id for pending in self._queued}
            # Two round trips: lock the heads, then insert, move the heads and commit.
            with dbapi.pipeline(), dbapi.cursor() as cursor:
                heads = lock_heads(cursor, self._sql, sites)
                sequences = self._write(cursor, self._sql, self._take(batch, sites), heads)
                dbapi.commit()
            return sequences
        # SQLite's write turn covers every site: take the events first, then read their heads.
        with writer_turn(self._engine), closing(dbapi.cursor()) as cursor:
            cursor.execute("BEGIN IMMEDIATE")  # the connection is in autocommit (db.py)
            events = self._take(batch)
            heads = lock_heads(cursor, self._sql, {event.site_id for event in events})
            sequences = self._write(cursor, self._sql, events, heads)
            cursor.execute("COMMIT")
            return sequences

    def _open(self) -> PoolProxiedConnection:  # under self._connection_lock
        if self._connection is None:
            self._connection = self._engine.raw_connection()
        return self._connection

    def _release(self, _engine: Engine) -> None:
        # Engine.dispose() closes the pool's idle connections; the writer's is never idle,
        # so it is closed here, after the transaction using it (if any) has ended.
        if not self._connection_lock.acquire(timeout=self.wait_timeout):
            return  # a transaction stuck that long: its failure lets the connection go
        try:
            if self._connection is not None:
                self._connection.invalidate()
            self._connection = None
        finally:
            self._connection_lock.release()

    def _abandon(self, connection: PoolProxiedConnection) -> bool:
        """Let go of the connection after a failure; whether its server had gone away."""
        # Under self._connection_lock. The transaction's state is unknown: roll back, and
        # let the pool forget the connection if it is broken (psycopg says so) or even the
        # rollback fails.
        self._connection = None
        broken = bool(getattr(connection.dbapi_connection, "broken", False))
        if not broken:
            try:
                connection.dbapi_connection.rollback()  # type: ignore[union-attr]
                connection.close()  # back to the pool
                return False
            except Exception:
                pass
        connection.invalidate()
        return broken

    def _forget_parent(self) -> None:
        """In a forked child: drop the parent's queue, leader, locks and connection."""
        if self._connection is not None:
            # Closing it, or letting it be garbage-collected (which returns it to the pool
            # with a rollback), would talk to the database on the parent's socket.
            _inherited.append(self._connection)
        self._start_afresh()


_instances: weakref.WeakSet[GroupCommit] = weakref.WeakSet()
_inherited: list[PoolProxiedConnection] = []  # parents' connections, kept and never touched
_writers: weakref.WeakKeyDictionary[Engine, GroupCommit] = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def group_commit(engine: Engine) -> GroupCommit:
    """The engine's group committer in this process, made on first use."""
    with _writers_lock:
        writer = _writers.get(engine)
        if writer is None:
            writer = _writers[engine] = GroupCommit(engine)
        return writer


def _after_fork_in_child() -> None:
    # The parent's other threads do not exist here: a lock one of them held stays held,
    # and a leader or a queued request would never finish. Start every writer afresh.
    global _writers_lock
    _writers_lock = threading.Lock()
    for writer in list(_instances):
        writer._forget_parent()


os.register_at_fork(after_in_child=_after_fork_in_child)

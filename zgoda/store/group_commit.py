"""Group commit: appends that arrive together in one process share a transaction.

Each append must be on disk before its request is answered, and each holds its site's chain
head until then, so one at a time a process could write no faster than its disk syncs. Here
request threads queue their events and one of them, the leader, writes for all: it first
waits for the right to extend the chains (the SQLite write turn, or the PostgreSQL head
rows), then takes every event queued by then (the queue grows while it waits for other
processes), links them in one transaction and commits once. Nobody is answered before the
commit that holds their event, and a failed commit fails every event in it (nothing is
half-written). The leader then hands the lead to the first thread still queued.
"""

from __future__ import annotations

import os
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, PoolProxiedConnection, event

from zgoda.errors import StorageError
from zgoda.store.appender import ChainSql, chain_sql, lock_heads, write_events
from zgoda.store.db import writer_turn
from zgoda.store.event import ConsentEvent

# Events per transaction at most: a burst is written in a few commits, not one long one.
MAX_BATCH = 64


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
    """Appends events to one engine's log, several per transaction when they arrive together."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._sql: ChainSql = chain_sql(engine.dialect)
        self._lock = threading.Lock()  # guards the queue and who leads
        self._queued: list[_Pending] = []
        self._led = False  # a thread is leading (writing, or about to)
        # The writer's own connection, held while the process lives (opened on first use,
        # again after a fork or a failure): no pool checkout or ping per transaction.
        self._connection: PoolProxiedConnection | None = None
        self._pid = 0
        event.listen(engine, "engine_disposed", self._release)

    def append(self, event: ConsentEvent) -> int:
        """Append `event` once its transaction has committed; returns its sequence number."""
        pending = _Pending(event)
        with self._lock:
            self._queued.append(pending)
            if not self._led:
                self._led = pending.lead = True
        while not pending.done:
            if not pending.lead:
                pending.wake.wait()
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

    def _hand_on_lead(self, leaving: _Pending | None = None) -> None:
        """Make the first queued thread the leader; `leaving`, still queued or not, leaves."""
        with self._lock:
            if leaving is not None and leaving in self._queued:
                self._queued.remove(leaving)  # nobody will wait for its answer
            if self._queued:
                successor = self._queued[0]
                successor.lead = True
                successor.wake.set()
            else:
                self._led = False

    def _write_next(self) -> None:
        """One transaction: the events queued once the chains are ours, up to MAX_BATCH."""
        batch: list[_Pending] = []
        # Every event fails unless the commit is reached: even an interruption that is not
        # an Exception must not let a waiting request answer 201 for an event never written.
        failure: str | None = "the transaction did not finish"
        try:
            sequences = self._transaction(batch)
            for pending, sequence in zip(batch, sequences, strict=True):
                pending.sequence = sequence
            failure = None
        except Exception as error:  # each waiting request reports it; the transaction rolled back
            failure = f"{type(error).__name__}: {error}"
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
                if len(batch) == MAX_BATCH:
                    break
                if sites is None or pending.event.site_id in sites:
                    batch.append(pending)
            taken = set(batch)
            self._queued = [pending for pending in self._queued if pending not in taken]
        return [pending.event for pending in batch]

    def _transaction(self, batch: list[_Pending]) -> list[int]:
        """Write the next batch in one transaction on the writer's connection and commit."""
        retried = False
        while True:
            connection = self._open()
            try:
                return self._transaction_on(connection, batch)
            except BaseException:
                broken = self._abandon(connection)
                # Broken before any event was taken (the database restarted since the last
                # write, say): only the heads were read, so once more on a new connection.
                if retried or batch or not broken:
                    raise
                retried = True

    def _transaction_on(
        self, connection: PoolProxiedConnection, batch: list[_Pending]
    ) -> list[int]:
        dbapi: Any = connection.dbapi_connection
        if self._sql.postgresql:
            with self._lock:
                sites = {pending.event.site_id for pending in self._queued}
            # Two round trips: lock the heads, then insert, move the heads and commit.
            with dbapi.pipeline(), dbapi.cursor() as cursor:
                heads = lock_heads(cursor, self._sql, sites)
                sequences = write_events(cursor, self._sql, self._take(batch, sites), heads)
                dbapi.commit()
            return sequences
        with writer_turn(self._engine):
            cursor = dbapi.cursor()
            cursor.execute("BEGIN IMMEDIATE")  # the connection is in autocommit (db.py)
            events = self._take(batch)
            heads = lock_heads(cursor, self._sql, {event.site_id for event in events})
            sequences = write_events(cursor, self._sql, events, heads)
            cursor.execute("COMMIT")
            return sequences

    def _open(self) -> PoolProxiedConnection:
        # A connection inherited over a fork belongs to the parent: leave it alone.
        if self._connection is None or self._pid != os.getpid():
            self._connection = self._engine.raw_connection()
            self._pid = os.getpid()
        return self._connection

    def _release(self, _engine: Engine) -> None:
        # Engine.dispose() closes the pool's idle connections; the writer's is never idle.
        with self._lock:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.invalidate()
            self._connection = None

    def _abandon(self, connection: PoolProxiedConnection) -> bool:
        """Let go of the connection after a failure; whether its server had gone away."""
        # The transaction's state is unknown: roll back, and let the pool forget the
        # connection if it is broken (psycopg says so) or even the rollback fails.
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


_writers: weakref.WeakKeyDictionary[Engine, GroupCommit] = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def group_commit(engine: Engine) -> GroupCommit:
    """The engine's group committer in this process, made on first use (after any fork)."""
    with _writers_lock:
        writer = _writers.get(engine)
        if writer is None:
            writer = _writers[engine] = GroupCommit(engine)
        return writer

"""Group commit: appends that arrive together in one process share a transaction.

Each append must be on disk before its request is answered, and each holds its site's chain
head until then, so one at a time a process could write no faster than its disk syncs. Here
a request thread that finds the writer busy queues its event; the next thread to get the
writer takes every queued event, links them all into their chains in one transaction and
commits once. Nobody is answered before the commit that holds their event, and a failed
commit fails every event in it (nothing is half-written).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

from sqlalchemy import Engine

from zgoda.errors import StorageError
from zgoda.store.log import ConsentEvent, append_all_in, writing

# Events per transaction at most: a burst is written in a few commits, not one long one.
MAX_BATCH = 64


@dataclass
class _Pending:
    """One queued event and, once its transaction ended, its sequence or the failure."""

    event: ConsentEvent
    done: bool = False
    sequence: int = 0
    failure: str | None = None


class GroupCommit:
    """Appends events to one engine's log, several per transaction when they arrive together."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._writer = threading.Lock()  # one transaction of this process at a time
        self._queue_lock = threading.Lock()
        self._queued: list[_Pending] = []

    def append(self, event: ConsentEvent) -> int:
        """Append `event` once its transaction has committed; returns its sequence number."""
        pending = _Pending(event)
        with self._queue_lock:
            self._queued.append(pending)
        while not pending.done:
            with self._writer:
                if not pending.done:  # else a transaction that ran meanwhile took it
                    with self._queue_lock:
                        batch = self._queued[:MAX_BATCH]
                        del self._queued[:MAX_BATCH]
                    self._write(batch)
        if pending.failure is not None:
            raise StorageError(pending.failure)
        return pending.sequence

    def _write(self, batch: list[_Pending]) -> None:
        # Every event fails unless the commit is reached: even an interruption that is not
        # an Exception must not let a waiting request answer 201 for an event never written.
        failure: str | None = "the transaction did not finish"
        try:
            with writing(self._engine) as connection:
                sequences = append_all_in(connection, [pending.event for pending in batch])
            for pending, sequence in zip(batch, sequences, strict=True):
                pending.sequence = sequence
            failure = None
        except Exception as error:  # each waiting request reports it; the transaction rolled back
            failure = f"{type(error).__name__}: {error}"
        finally:
            for pending in batch:
                pending.failure = failure
                pending.done = True


_writers: weakref.WeakKeyDictionary[Engine, GroupCommit] = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def group_commit(engine: Engine) -> GroupCommit:
    """The engine's group committer in this process, made on first use (after any fork)."""
    with _writers_lock:
        writer = _writers.get(engine)
        if writer is None:
            writer = _writers[engine] = GroupCommit(engine)
        return writer

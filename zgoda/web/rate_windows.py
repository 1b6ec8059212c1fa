"""Where rate-limit hits are counted: in this process, or in a shared store (Redis) that fails
open to counting in this process while it cannot be reached.

Counting in this process (memory://, the default) uses `LocalWindows` instead of limits'
MemoryStorage, which takes a lock per key and starts a timer thread every 10 ms to expire
keys: a sixth of a consent write's CPU. With several workers, each counts alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from limits import RateLimitItem
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from redis.backoff import NoBackoff
from redis.retry import Retry

if TYPE_CHECKING:
    from logging import Logger

# A Redis that does not answer must not hold a consent write for long: one quick reconnect
# (a pooled connection dies when Redis restarts), then the write is counted locally. A URI
# can still set its own timeouts (redis://host:6379/0?socket_timeout=1).
REDIS_SCHEMES = ("redis", "rediss", "redis+unix")
REDIS_TIMEOUT_SECONDS = 0.5


class Windows(Protocol):
    """Where hits are counted; both methods answer None within the limits, else when to retry."""

    def hit(self, key: str) -> float | None:
        """Count a hit unless it would be over a limit."""

    def test(self, key: str) -> float | None:
        """Whether a hit would be within the limits, without counting one."""


class LocalWindows:
    """Fixed-window counts per key in this process, for one or more limits."""

    # Windows that ended are dropped once this many keys are counted (once per window of the
    # longest limit: many keys within one window must not make every hit scan them all).
    PRUNE_AT = 10_000

    def __init__(self, items: Sequence[RateLimitItem]):
        self._amounts = tuple(item.amount for item in items)
        self._seconds = tuple(item.get_expiry() for item in items)
        self._longest = self._seconds.index(max(self._seconds))
        self._no_hits = (0,) * len(self._seconds)
        self._lock = threading.Lock()
        # key -> (window number per limit, hits per limit)
        self._windows: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        self._pruned_in = -1  # the longest limit's window in which ended ones were dropped

    def hit(self, key: str) -> float | None:
        """Count a hit; None if it is within the limits, else when the latest full window ends."""
        return self._count(key, 1)

    def test(self, key: str) -> float | None:
        """None if a hit would be within the limits, else when the latest full window ends."""
        return self._count(key, 0)

    def _count(self, key: str, cost: int) -> float | None:
        now = time.time()
        current = tuple([int(now // seconds) for seconds in self._seconds])
        with self._lock:
            windows, hits = self._windows.get(key, (current, self._no_hits))
            if windows != current:
                hits = tuple(
                    [
                        count if window == now_in else 0
                        for window, now_in, count in zip(windows, current, hits, strict=True)
                    ]
                )
            reset_at: float | None = None
            for window, seconds, count, amount in zip(
                current, self._seconds, hits, self._amounts, strict=True
            ):
                if count >= amount and (reset_at is None or (window + 1) * seconds > reset_at):
                    reset_at = (window + 1) * seconds
            if reset_at is not None or not cost:
                return reset_at
            longest = current[self._longest]
            if len(self._windows) >= self.PRUNE_AT and self._pruned_in != longest:
                self._windows = {
                    k: (w, h)
                    for k, (w, h) in self._windows.items()
                    if any(a == b for a, b in zip(w, current, strict=True))
                }
                self._pruned_in = longest
            self._windows[key] = (current, tuple([count + cost for count in hits]))
        return None


@dataclass(frozen=True)
class SharedWindows:
    """Fixed-window counts in a `limits` storage (Redis): shared by every instance using it."""

    items: tuple[RateLimitItem, ...]
    limiter: FixedWindowRateLimiter
    namespace: str

    def hit(self, key: str) -> float | None:
        """Count a hit; None if it is within the limits, else when the full window ends.

        The limits are hit in order, so a hit refused by a later one still counts in the
        earlier ones (as in Flask-Limiter): it can only make the count stricter.
        """
        for item in self.items:
            if not self.limiter.hit(item, self.namespace, key):
                return self._reset_at(item, key)
        return None

    def test(self, key: str) -> float | None:
        """None if a hit would be within the limits, else when the full window ends."""
        for item in self.items:
            if not self.limiter.test(item, self.namespace, key):
                return self._reset_at(item, key)
        return None

    def _reset_at(self, item: RateLimitItem, key: str) -> float:
        reset_at, _remaining = self.limiter.get_window_stats(item, self.namespace, key)
        return float(reset_at)


class SharedStore:
    """A `limits` storage shared between instances (Redis), and whether it is answering.

    Protocol: while the store answers, every hit goes to it. The first error starts an
    outage: one warning is logged, `failing_open` turns true, and hits are counted by this
    process's own windows; one hit every RETRY_SECONDS (under the lock, so only one thread
    at a time) tries the store again, bounded by the client's timeouts. The first answer
    ends the outage with one info line. A limit is never stricter during an outage than
    the same limit counted in memory.
    """

    RETRY_SECONDS = 5.0

    def __init__(self, uri: str, logger: Logger):
        storage = storage_from_string(uri, wrap_exceptions=True, **_client_options(uri))
        self.limiter = FixedWindowRateLimiter(storage)
        self._logger = logger
        self._lock = threading.Lock()
        self._failing_since: float | None = None  # time.monotonic() when the outage began
        self._retry_at = 0.0
        self.outages = 0  # since the app started
        self.uncounted_hits = 0  # hits counted only in this process, over all outages

    @property
    def failing_open(self) -> bool:
        """Whether the store is unreachable and limits are counted in this process only."""
        return self._failing_since is not None

    def windows(self, items: tuple[RateLimitItem, ...], namespace: str) -> FailOpenWindows:
        """Windows for `items` counted in this store, or locally while it is failing."""
        return FailOpenWindows(
            SharedWindows(items, self.limiter, namespace), LocalWindows(items), self
        )

    def should_try(self) -> bool:
        """Whether this hit goes to the store: always when healthy, else once per retry."""
        if self._failing_since is None:  # read without the lock: the common case stays free
            return True
        with self._lock:
            now = time.monotonic()
            if self._failing_since is not None and now < self._retry_at:
                self.uncounted_hits += 1
                return False
            self._retry_at = now + self.RETRY_SECONDS
            return True

    def failed(self, error: StorageError) -> None:
        """The store did not answer: start an outage (logged once) or keep it going."""
        with self._lock:
            now = time.monotonic()
            self.uncounted_hits += 1
            self._retry_at = now + self.RETRY_SECONDS
            if self._failing_since is not None:
                return
            self._failing_since = now
            self.outages += 1
        self._logger.warning(
            "rate-limit store unreachable (%s): counting limits in this process until it "
            "answers again",
            error.storage_error,
        )

    def answered(self) -> None:
        """The store answered: end the outage, if there was one (logged once)."""
        if self._failing_since is None:
            return
        with self._lock:
            if self._failing_since is None:
                return
            lasted = time.monotonic() - self._failing_since
            self._failing_since = None
        self._logger.info(
            "rate-limit store answers again after %.0f s: counting limits in it again", lasted
        )


@dataclass(frozen=True)
class FailOpenWindows:
    """Windows in a shared store, counted in this process while the store is failing."""

    shared: SharedWindows
    local: LocalWindows
    store: SharedStore

    def hit(self, key: str) -> float | None:
        """Count a hit; None if it is within the limits, else when the full window ends."""
        return self._counted(self.shared.hit, self.local.hit, key)

    def test(self, key: str) -> float | None:
        """None if a hit would be within the limits, else when the full window ends."""
        return self._counted(self.shared.test, self.local.test, key)

    def _counted(
        self,
        shared: Callable[[str], float | None],
        local: Callable[[str], float | None],
        key: str,
    ) -> float | None:
        if self.store.should_try():
            try:
                reset_at = shared(key)
            except StorageError as error:
                self.store.failed(error)
            else:
                self.store.answered()
                return reset_at
        return local(key)


def _client_options(uri: str) -> dict[str, Any]:
    """Short timeouts and one immediate retry for a Redis client; nothing for other stores."""
    if uri.split("://", 1)[0].lower() not in REDIS_SCHEMES:
        return {}
    return {
        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
        "socket_timeout": REDIS_TIMEOUT_SECONDS,
        "retry": Retry(NoBackoff(), 1),
    }

"""Rate limits on consent writes, per client address; shared through Redis when configured.

Built on `limits` (the library under Flask-Limiter) and checked only by the views that
write to the consent log: Flask-Limiter's hooks ran on every request, banner reads
included, and cost more than the whole banner view. Counting in this process (memory://,
the default) uses `LocalWindows` instead of limits' MemoryStorage, which takes a lock per
key and starts a timer thread every 10 ms to expire keys: a sixth of a consent write's CPU.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from flask import current_app, request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

if TYPE_CHECKING:
    from flask import Flask

EXTENSION_KEY = "zgoda_limits"
# The endpoints that append to the consent log.
CONSENT_WRITES = ("api.record_consent", "preferences.save")

P = ParamSpec("P")
R = TypeVar("R")


class LocalWindows:
    """Fixed-window counts per address in this process: what memory:// counts in `limits`."""

    # Windows that ended are dropped once this many addresses are counted (once per window:
    # many addresses within one window must not make every hit scan them all).
    PRUNE_AT = 10_000

    def __init__(self, item: RateLimitItem):
        self._amount = item.amount
        self._seconds = item.get_expiry()
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}  # address -> (window number, hits)
        self._pruned_in = -1  # the window in which ended windows were last dropped

    def hit(self, address: str) -> float | None:
        """Count a hit; None if it is within the limit, else when the window ends."""
        now = time.time()
        window = int(now // self._seconds)
        with self._lock:
            started, hits = self._windows.get(address, (window, 0))
            if started != window:
                hits = 0
            if hits >= self._amount:
                return (window + 1) * self._seconds
            if len(self._windows) >= self.PRUNE_AT and self._pruned_in != window:
                self._windows = {a: w for a, w in self._windows.items() if w[0] == window}
                self._pruned_in = window
            self._windows[address] = (window, hits + 1)
        return None


@dataclass(frozen=True)
class SharedWindows:
    """Fixed-window counts in a `limits` storage (Redis): shared by every instance using it."""

    item: RateLimitItem
    limiter: FixedWindowRateLimiter
    key: str

    def hit(self, address: str) -> float | None:
        """Count a hit; None if it is within the limit, else when the window ends."""
        if self.limiter.hit(self.item, self.key, address):
            return None
        reset_at, _remaining = self.limiter.get_window_stats(self.item, self.key, address)
        return float(reset_at)


@dataclass(frozen=True)
class ConsentWriteLimit:
    """One app's limit on consent writes and where the writes are counted."""

    item: RateLimitItem
    windows: LocalWindows | SharedWindows

    def check(self, address: str) -> None:
        """Count one write from `address`; 429 with Retry-After once it is over the limit."""
        reset_at = self.windows.hit(address)
        if reset_at is None:
            return
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise TooManyRequests(
            f"too many consent writes from this address: at most {self.item}",
            retry_after=retry_after,
        )


def client_address() -> str:
    """The address the limit counts: the connecting peer (a proxy sets it via ProxyFix)."""
    return request.remote_addr or "unknown"


def limited(view: Callable[P, R]) -> Callable[P, R]:
    """Check the consent-write limit before the view runs; CORS preflights are not counted."""

    @wraps(view)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        if request.method != "OPTIONS":
            limit: ConsentWriteLimit = current_app.extensions[EXTENSION_KEY]
            limit.check(client_address())
        return view(*args, **kwargs)

    return checked


def init_app(app: Flask) -> None:
    """Limit the consent-writing endpoints, counted in RATELIMIT_STORAGE_URI (memory or Redis).

    Call it after the blueprints are registered. Each app gets its own storage, so two
    apps in one process (as in tests) count separately unless they share Redis.
    """
    item = parse(str(app.config["CONSENT_RATE_LIMIT"]))
    uri = str(app.config.get("RATELIMIT_STORAGE_URI", "memory://"))
    windows: LocalWindows | SharedWindows
    if uri == "memory://":
        windows = LocalWindows(item)
    else:
        prefix = str(app.config.get("RATELIMIT_KEY_PREFIX", "zgoda"))
        limiter = FixedWindowRateLimiter(storage_from_string(uri))
        windows = SharedWindows(item, limiter, f"{prefix}:consent-writes")
    app.extensions[EXTENSION_KEY] = ConsentWriteLimit(item, windows)
    for endpoint in CONSENT_WRITES:
        app.view_functions[endpoint] = limited(app.view_functions[endpoint])  # type: ignore[assignment]

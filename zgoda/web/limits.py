"""Rate limits per client network: consent writes, and failed API-key attempts.

Built on `limits` (the library under Flask-Limiter) and checked only by the views that need
them: Flask-Limiter's hooks ran on every request, banner reads included, and cost more than
the whole banner view. Where hits are counted is zgoda.web.rate_windows: counts shared through
Redis fail open, so a consent is never refused, nor answered with a 500, because the
rate-limit store is down.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from flask import current_app, request
from limits import RateLimitItem, parse_many
from werkzeug.exceptions import TooManyRequests

from zgoda import metrics
from zgoda.errors import Unauthorized
from zgoda.web.client import rate_limit_key
from zgoda.web.rate_windows import LocalWindows, SharedStore, Windows

if TYPE_CHECKING:
    from flask import Flask

EXTENSION_KEY = "zgoda_limits"

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Limit:
    """Limits on one kind of request per client network, and where they are counted."""

    counted: str  # what is counted, for the 429's message: "consent writes"
    items: tuple[RateLimitItem, ...]
    windows: Windows
    name: str = "other"  # the metrics' label: "consent_writes"

    def check(self, key: str) -> None:
        """Count one request from `key`; 429 with Retry-After once it is over a limit."""
        self._refuse_after(self.windows.hit(key))

    def refuse_if_over(self, key: str) -> None:
        """429 with Retry-After if `key` is over a limit already, without counting."""
        self._refuse_after(self.windows.test(key))

    def count(self, key: str) -> None:
        """Count one request from `key` (a failure), refusing nothing."""
        self.windows.hit(key)

    def _refuse_after(self, reset_at: float | None) -> None:
        if reset_at is None:
            return
        metrics.observe_rejection(self.name)
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise TooManyRequests(
            f"too many {self.counted} from this network: at most "
            + ", ".join(str(item) for item in self.items),
            retry_after=retry_after,
        )


@dataclass(frozen=True)
class Limits:
    """One app's limits, and the shared store they are counted in (None: memory://)."""

    consent_writes: Limit
    key_failures: Limit
    store: SharedStore | None

    @property
    def failing_open(self) -> bool:
        """Whether the shared store is unreachable and limits are counted per process."""
        return self.store is not None and self.store.failing_open


def app_limits() -> Limits:
    """The current app's limits."""
    limits: Limits = current_app.extensions[EXTENSION_KEY]
    return limits


def client_network() -> str:
    """The network the limits count: the connecting peer's (a proxy sets it via ProxyFix)."""
    return rate_limit_key(request.remote_addr)


def limited(view: Callable[P, R]) -> Callable[P, R]:
    """Count a consent write against its network's limit before `view` runs (429 past it).

    CORS preflights never reach a view (zgoda.web.cors answers them first).
    """

    @wraps(view)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        app_limits().consent_writes.check(client_network())
        return view(*args, **kwargs)

    return checked


@contextmanager
def key_attempt(presented: str | None) -> Iterator[None]:
    """Refuse (429) an API-key attempt from a network with too many failures; count this
    attempt when the key it presented is refused (Unauthorized). No key is no attempt."""
    limit = app_limits().key_failures
    network = client_network()
    limit.refuse_if_over(network)
    try:
        yield
    except Unauthorized:
        if presented:
            limit.count(network)
        raise


def init_app(app: Flask) -> None:
    """Limit the consent-writing endpoints, counted in RATELIMIT_STORAGE_URI (memory or Redis).

    The views that write to the consent log are decorated with `limited`. Each app gets
    its own storage, so two apps in one process (as in tests) count separately unless they
    share Redis. Nothing connects to Redis here: the app starts while it is down.
    """
    consent_items = tuple(parse_many(app.config["CONSENT_RATE_LIMIT"]))
    key_items = tuple(parse_many(app.config["API_KEY_FAILURE_LIMIT"]))
    uri = str(app.config.get("RATELIMIT_STORAGE_URI", "memory://"))
    store: SharedStore | None = None
    consent_windows: Windows
    key_windows: Windows
    if uri == "memory://":
        consent_windows, key_windows = LocalWindows(consent_items), LocalWindows(key_items)
    else:
        prefix = str(app.config.get("RATELIMIT_KEY_PREFIX", "zgoda"))
        store = SharedStore(uri, app.logger)
        consent_windows = store.windows(consent_items, f"{prefix}:consent-writes")
        key_windows = store.windows(key_items, f"{prefix}:api-key-failures")
    app.extensions[EXTENSION_KEY] = Limits(
        Limit("consent writes", consent_items, consent_windows, "consent_writes"),
        Limit("failed API-key attempts", key_items, key_windows, "api_key_failures"),
        store,
    )

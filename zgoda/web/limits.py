"""Rate limits on consent writes, per client address; shared through Redis when configured.

Built on `limits` (the library under Flask-Limiter) and checked only by the views that
write to the consent log: Flask-Limiter's hooks ran on every request, banner reads
included, and cost more than the whole banner view.
"""

from __future__ import annotations

import math
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


@dataclass(frozen=True)
class ConsentWriteLimit:
    """One app's limit on consent writes and the storage that counts them."""

    item: RateLimitItem
    limiter: FixedWindowRateLimiter
    key_prefix: str

    def check(self, address: str) -> None:
        """Count one write from `address`; 429 with Retry-After once it is over the limit."""
        key = f"{self.key_prefix}consent-writes"
        if self.limiter.hit(self.item, key, address):
            return
        reset_at, _remaining = self.limiter.get_window_stats(self.item, key, address)
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
    storage = storage_from_string(app.config.get("RATELIMIT_STORAGE_URI", "memory://"))
    app.extensions[EXTENSION_KEY] = ConsentWriteLimit(
        item=parse(str(app.config["CONSENT_RATE_LIMIT"])),
        limiter=FixedWindowRateLimiter(storage),
        key_prefix=str(app.config.get("RATELIMIT_KEY_PREFIX", "zgoda")) + ":",
    )
    for endpoint in CONSENT_WRITES:
        app.view_functions[endpoint] = limited(app.view_functions[endpoint])  # type: ignore[assignment]

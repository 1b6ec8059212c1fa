"""Rate limits on consent writes, per client address; shared through Redis when configured."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

if TYPE_CHECKING:
    from flask import Flask

# The endpoints that append to the consent log.
CONSENT_WRITES = ("api.record_consent", "preferences.save")


def consent_rate() -> str:
    """The configured limit for consent writes, e.g. '60 per minute'."""
    return str(current_app.config["CONSENT_RATE_LIMIT"])


def is_preflight() -> bool:
    """CORS preflights write nothing and are not counted."""
    return request.method == "OPTIONS"


def init_app(app: Flask) -> Limiter:
    """Limit the consent-writing endpoints, with RATELIMIT_STORAGE_URI (memory:// or redis://).

    Call it after the blueprints are registered. Each app gets its own Limiter, so two
    apps in one process (as in tests) count separately unless they share Redis.
    """
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter = Limiter(get_remote_address, app=app, default_limits=[])
    for endpoint in CONSENT_WRITES:
        limited = limiter.limit(consent_rate, exempt_when=is_preflight)
        app.view_functions[endpoint] = limited(app.view_functions[endpoint])  # type: ignore[assignment]
    return limiter

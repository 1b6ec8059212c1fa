"""Rate limits on consent writes, per client address; shared through Redis when configured."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

if TYPE_CHECKING:
    from flask import Flask

# No default limits: only the routes that write are limited, by their own decorator.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def init_app(app: Flask) -> None:
    """Bind the limiter to `app`, using RATELIMIT_STORAGE_URI (memory:// or redis://)."""
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)

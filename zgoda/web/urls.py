"""Absolute URLs from the configured public address, never from the request's Host header.

A cached answer (the banner configuration, a page's hreflang links) would otherwise carry
whatever host the first client claimed to every later one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import current_app, url_for

if TYPE_CHECKING:
    from flask import Flask


def public_url_for(endpoint: str, **values: Any) -> str:
    """`url_for(endpoint, **values)` made absolute with the PUBLIC_URL setting."""
    return str(current_app.config["PUBLIC_URL"]) + url_for(endpoint, **values)


def init_app(app: Flask) -> None:
    """Let templates build public URLs."""
    app.add_template_global(public_url_for)

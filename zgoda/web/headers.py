"""Small edits of response headers, spelled as text on paths that run for every answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Response


def add_vary(response: Response, name: str) -> None:
    """Add `name` to the response's Vary header.

    Werkzeug's `response.vary` parses the header into a set and writes it back, which cost
    more than the rest of the hooks that add to it.
    """
    vary = response.headers.get("Vary")
    if not vary:
        response.headers["Vary"] = name
    elif name.lower() not in {part.strip().lower() for part in vary.split(",")}:
        response.headers["Vary"] = f"{vary}, {name}"

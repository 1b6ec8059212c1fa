"""Parsers for setting values: each turns the text of an environment variable into its type.

Each raises ValueError with a message saying what it accepts; the schema in
`zgoda.config` adds the variable's name.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
DURATION_UNITS = {"s": 1, "min": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+)\s*(s|min|h|d)?\s*$", re.I)


def parse_bool(text: str) -> bool:
    """1/0, true/false, yes/no, on/off, in any case."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError("use one of 1/0, true/false, yes/no, on/off")


def parse_int(text: str, minimum: int = 0) -> int:
    """A whole number no smaller than `minimum`."""
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(f"use a whole number (at least {minimum})") from None
    if value < minimum:
        raise ValueError(f"use a whole number of at least {minimum}")
    return value


def parse_duration(text: str) -> int:
    """Seconds, from `3600`, `45s`, `15min`, `8h` or `30d`."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError("use a whole number of seconds, or a number and s, min, h or d (8h)")
    amount, unit = match.groups()
    return int(amount) * DURATION_UNITS[(unit or "s").lower()]


def format_duration(seconds: int) -> str:
    """The shortest of `30d`, `8h`, `15min`, `45s` that says `seconds` exactly."""
    for unit in ("d", "h", "min"):
        if seconds and seconds % DURATION_UNITS[unit] == 0:
            return f"{seconds // DURATION_UNITS[unit]}{unit}"
    return f"{seconds}s"


def parse_choice(text: str, choices: tuple[str, ...]) -> str:
    """One of `choices`, compared without case; returned as the choice is spelled."""
    word = text.strip().lower()
    for choice in choices:
        if choice.lower() == word:
            return choice
    raise ValueError(f"use one of: {', '.join(choices)}")


def parse_list(text: str) -> list[str]:
    """Comma-separated items, blanks dropped."""
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_origin(text: str) -> str:
    """A web origin, `https://host[:port]` (or http://), without path, query or fragment."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{text!r} is not an origin: use https://host[:port]")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{text!r} is not an origin: no path, query, fragment or user")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{text!r} has an invalid port") from None
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else "")


def parse_origins(text: str) -> list[str]:
    """Comma-separated origins."""
    return [parse_origin(item) for item in parse_list(text)]


def parse_host(text: str) -> str:
    """A host name or address as it appears in a Host header (a leading dot: any subdomain)."""
    host = text.strip().lower()
    if not host or not re.fullmatch(r"\.?[a-z0-9.\-\[\]:]+", host):
        raise ValueError(f"{text!r} is not a host name")
    return host


def parse_hosts(text: str) -> list[str]:
    """Comma-separated host names."""
    return [parse_host(item) for item in parse_list(text)]


def same_duration(value: object) -> int | None:
    """A duration already given as seconds or a timedelta (overrides from code), else None."""
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None

"""Log lines: one JSON object per line in production, plain text in development.

Every line Zgoda writes goes through the `zgoda` logger (the app's own logger and the access
log, `zgoda.access`, are below it) to standard error, and carries the request id of the
request it was written in. What goes into a line is chosen by its caller: no line is given a
raw IP address, a token, an API key, a cookie or a query string (zgoda.web.request_log logs
routes, not paths; tests/test_request_log.py greps a whole test session for them).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask import has_request_context, request
from flask.logging import default_handler

if TYPE_CHECKING:
    from flask import Flask

LOGGER = "zgoda"
REQUEST_ID_KEY = "zgoda.request_id"  # where the request id waits in the WSGI environ
FORMATS = ("json", "text")
# The development server's own line per request names the raw address and the query string;
# the access log replaces it (it starts `<address> - - [<date>]`).
_WERKZEUG_REQUEST_LINE = " - - ["
# json.dumps with these options would build a new encoder for every line.
_json_line = json.JSONEncoder(ensure_ascii=False, default=str).encode


class RequestIdFilter(logging.Filter):
    """Give each record the request id of the request it was logged in (or None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keep the record; add `request_id` unless the caller gave one."""
        if getattr(record, "request_id", None) is None:
            record.request_id = (
                request.environ.get(REQUEST_ID_KEY) if has_request_context() else None
            )
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and any fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON (a traceback is a string field, newlines escaped)."""
        entry: dict[str, Any] = {
            "time": _iso(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _json_line(entry)


class TextFormatter(logging.Formatter):
    """A line for a developer's terminal: time, level, logger, [request id], message, fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as readable text; fields as key=value after the message."""
        request_id = getattr(record, "request_id", None)
        fields = " ".join(f"{k}={v}" for k, v in getattr(record, "fields", {}).items())
        line = (
            f"{_iso(record.created)} {record.levelname} {record.name}"
            f"{f' [{request_id}]' if request_id else ''} {record.getMessage()}"
            f"{f' {fields}' if fields else ''}"
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (a test or a server may replace it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _iso(created: float) -> str:
    """`created` as datetime.fromtimestamp(created, UTC) spells it to the millisecond, 'Z'."""
    global _second_text
    # Most lines of a busy second share all but the milliseconds: the second's text is made
    # once. The microseconds are rounded as fromtimestamp rounds them, then cut to ms.
    second = int(created)
    micro = round((created - second) * 1e6)
    if micro >= 1_000_000:
        second, micro = second + 1, micro - 1_000_000
    cached_second, prefix = _second_text  # one tuple, replaced whole: safe between threads
    if second != cached_second:
        prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _second_text = (second, prefix)
    return f"{prefix}.{micro // 1000:03d}Z"


_second_text: tuple[int, str] = (-1, "")


def _drop_werkzeug_request_lines(record: logging.LogRecord) -> bool:
    return _WERKZEUG_REQUEST_LINE not in str(record.msg)


def formatter(name: str) -> logging.Formatter:
    """The formatter of LOG_FORMAT `name`."""
    return JsonFormatter() if name == "json" else TextFormatter()


def log_format(app: Flask) -> str:
    """LOG_FORMAT, or else text in debug and JSON otherwise."""
    chosen = app.config.get("LOG_FORMAT")
    return str(chosen) if chosen else ("text" if app.debug else "json")


def init_app(app: Flask, quiet: bool = False) -> None:
    """Send the `zgoda` loggers to standard error in the app's format, with request ids.

    `quiet`: a command (not a server) loads the app; only warnings and errors are written,
    so the start-up findings do not bury what the command prints. Logging is per process:
    the last app made sets the format (tests make several).
    """
    handler = _Stderr()
    handler.setFormatter(formatter(log_format(app)))
    handler.addFilter(RequestIdFilter())
    handler.set_name("zgoda")
    logger = logging.getLogger(LOGGER)
    for old in [h for h in logger.handlers if h.get_name() == "zgoda"]:
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.DEBUG if app.debug else logging.INFO)
    app.logger.removeHandler(default_handler)  # ours, on the parent, writes every line
    werkzeug = logging.getLogger("werkzeug")
    if _drop_werkzeug_request_lines not in werkzeug.filters:
        werkzeug.addFilter(_drop_werkzeug_request_lines)

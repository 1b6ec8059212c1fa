"""One exception hierarchy for Zgoda; each error carries what a caller needs to report it."""

from __future__ import annotations

from pathlib import Path

import click


class ZgodaError(click.ClickException):
    """Base class of every error Zgoda raises on purpose.

    It is a ClickException so that a CLI command, or the app factory run by the
    `flask` command, ends with the message and exit code 1 instead of a traceback.
    """


class ConfigError(ZgodaError):
    """The app's configuration cannot be used (for example, no secret key in production)."""


class NoticeError(ZgodaError):
    """A notice file cannot be loaded; names the file, the line and the field."""

    def __init__(self, path: Path, message: str, field: str = "", line: int | None = None):
        self.path = path
        self.field = field
        self.line = line
        self.problem = message
        where = str(path) + (f":{line}" if line is not None else "")
        super().__init__(f"{where}:" + (f" field '{field}':" if field else "") + f" {message}")

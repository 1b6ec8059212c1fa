"""The `flask` command groups, one module each, and the one place they are registered."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click
from flask.cli import AppGroup

from zgoda.errors import ZgodaError

if TYPE_CHECKING:
    from flask import Flask


class ZgodaGroup(AppGroup):
    """A command group whose commands end a `ZgodaError` with its message and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a domain error becomes a click error, not a traceback."""
        try:
            return super().invoke(ctx)
        except ZgodaError as error:
            raise click.ClickException(str(error)) from error


@contextmanager
def startup_errors_reported() -> Iterator[None]:
    """While the `flask` command loads the app, a ZgodaError (a bad setting, a broken notice)
    ends it with its message and exit code 1 instead of a traceback; elsewhere (tests,
    gunicorn) it propagates unchanged."""
    try:
        yield
    except ZgodaError as error:
        if click.get_current_context(silent=True) is None:
            raise
        raise click.ClickException(str(error)) from error


def init_app(app: Flask) -> None:
    """Add every command group to the app's `flask` command."""
    # Imported here: each command module builds its group from ZgodaGroup above.
    from zgoda.cli import consents, db, embed, keys, notices, tokens

    for group in (
        notices.notices_cli,
        db.db_cli,
        keys.keys_cli,
        tokens.tokens_cli,
        consents.consents_cli,
        embed.embed_cli,
    ):
        app.cli.add_command(group)

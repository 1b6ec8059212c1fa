"""The `flask` command groups, one module each, and the one place they are registered."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click
from flask.cli import AppGroup, FlaskGroup, ScriptInfo, routes_command

from zgoda.config import check_settings
from zgoda.errors import ZgodaError

if TYPE_CHECKING:
    from flask import Flask


# The groups whose commands sign nothing and build no public link: the `flask` command runs
# them without ZGODA_SECRET_KEY or ZGODA_PUBLIC_URL (a site's CI checks its notice with neither).
# Every other group (`tokens` derives signing keys, `embed` prints public URLs) asks for both.
SIGNS_NOTHING = frozenset({"notices", "db", "keys", "consents"})


class ZgodaGroup(AppGroup):
    """A command group whose commands end a `ZgodaError` with its message and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a domain error becomes a click error, not a traceback."""
        try:
            if self.name not in SIGNS_NOTHING:
                check_settings(ctx.ensure_object(ScriptInfo).load_app())
            return super().invoke(ctx)
        except ZgodaError as error:
            raise click.ClickException(str(error)) from error


def serving_settings_deferred() -> bool:
    """Whether the `flask` command is loading the app to look up one of the app's commands.

    The serving requirements (a secret key, a public URL) then wait for the command: a group
    outside SIGNS_NOTHING asks for them before its command runs, and `flask routes` (it lists
    URL rules) needs neither. `flask run` and `flask shell` load the app inside their own
    command, gunicorn and the tests outside any: for them the requirements apply at once.
    """
    ctx = click.get_current_context(silent=True)
    return ctx is not None and (
        isinstance(ctx.command, FlaskGroup) or ctx.command is routes_command
    )


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
    from zgoda.cli import consents, db, embed, keys, notices, scan, tokens, webhooks

    for group in (
        notices.notices_cli,
        db.db_cli,
        keys.keys_cli,
        tokens.tokens_cli,
        consents.consents_cli,
        embed.embed_cli,
        scan.scan_command,
        webhooks.webhooks_cli,
    ):
        app.cli.add_command(group)

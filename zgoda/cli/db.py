"""`zgoda db ...`: create, migrate, inspect and roll back the consent-log database."""

from __future__ import annotations

import click
from flask import current_app

from zgoda.cli import ZgodaGroup
from zgoda.store.db import database_url
from zgoda.store.migrate import (
    current_revision,
    downgrade,
    head_revision,
    history,
    to_undo,
    upgrade,
)

db_cli = ZgodaGroup("db", help="Create, upgrade, inspect or downgrade the consent-log database.")


def _where() -> str:
    # Host and database only: the URL's user and password stay out of the output.
    return database_url(current_app).split("@")[-1]


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision: str) -> None:
    """Apply schema migrations up to REVISION (default: the newest)."""
    upgrade(current_app, revision)
    click.echo(f"database at {revision}: {_where()}")


@db_cli.command("current")
def current_command() -> None:
    """Print the database's revision, and whether it is the newest; exit 1 when it is not."""
    current, head = current_revision(current_app), head_revision()
    if current is None:
        raise click.ClickException(
            f"{_where()} has no Zgoda schema: `zgoda db upgrade` creates it (newest: {head})"
        )
    if current != head:
        click.echo(f"{current} ({_where()})")
        raise click.ClickException(f"the newest revision is {head}: run `zgoda db upgrade`")
    click.echo(f"{current} (head) ({_where()})")


@db_cli.command("history")
def history_command() -> None:
    """List the migrations, newest first, marking the one the database is at."""
    current = current_revision(current_app)
    for revision in history():
        mark = "  <- database" if revision.id == current else ""
        click.echo(f"{revision.id}  {revision.title}{mark}")


@db_cli.command("downgrade", context_settings={"ignore_unknown_options": True})  # -1 is no option
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask: the undone migrations' data is lost.")
def downgrade_command(revision: str, yes: bool) -> None:
    """Undo migrations down to REVISION: an id from `history`, -1 (one step) or base."""
    current = current_revision(current_app)
    target, undone = to_undo(current, revision)
    if not undone:
        click.echo(f"database already at {target}: {_where()}")
        return
    click.echo(f"{_where()}: from {current} to {target}, undoing:")
    for step in undone:
        click.echo(f"  {step.id}  {step.title}")
    # What a downgrade drops (a table, a column) is gone with its rows: the consent log's
    # proof too, for base. Ask unless the operator said so on the command line.
    if not yes:
        click.confirm("The data those migrations hold is deleted. Continue?", abort=True)
    downgrade(current_app, target)
    click.echo(f"database at {target}: {_where()}")

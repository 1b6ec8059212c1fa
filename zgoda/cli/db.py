"""`flask db upgrade`: create or migrate the consent-log database."""

from __future__ import annotations

import click
from flask import current_app

from zgoda.cli import ZgodaGroup
from zgoda.store.db import database_url
from zgoda.store.migrate import upgrade

db_cli = ZgodaGroup("db", help="Create or upgrade the consent-log database.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision: str) -> None:
    """Apply schema migrations up to REVISION (default: the newest)."""
    upgrade(current_app, revision)
    click.echo(f"database at {revision}: {database_url(current_app).split('@')[-1]}")

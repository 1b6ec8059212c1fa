"""Schema migrations with Alembic, run by `flask db upgrade` (never by the app factory)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from alembic import command
from alembic.config import Config
from flask import current_app
from flask.cli import AppGroup

from zgoda.store.db import database_url

if TYPE_CHECKING:
    from flask import Flask

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

db_cli = AppGroup("db", help="Create or upgrade the consent-log database.")


def alembic_config(url: str) -> Config:
    """An Alembic config for `url`, without an alembic.ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(app: Flask, revision: str = "head") -> None:
    """Bring the app's database to `revision`, creating it (and instance/) if needed."""
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url(app)), revision)


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision: str) -> None:
    """Apply schema migrations up to REVISION (default: the newest)."""
    upgrade(current_app, revision)
    click.echo(f"database at {revision}: {database_url(current_app).split('@')[-1]}")

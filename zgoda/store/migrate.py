"""Schema migrations with Alembic, run by `flask db upgrade` (never by the app factory)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config

from zgoda.store.db import database_url

if TYPE_CHECKING:
    from flask import Flask

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


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

"""Schema migrations with Alembic, run by `zgoda db ...` (never by the app factory).

Upgrades and downgrades, the database's revision and the scripts' history. Alembic's own
errors (an unknown revision, a database out of reach) become a StorageError naming the
problem, so the command line reports them with exit code 1 and no traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from zgoda.errors import StorageError
from zgoda.store.db import database_url

if TYPE_CHECKING:
    from flask import Flask

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@dataclass(frozen=True)
class Revision:
    """One migration script: its id, the one before it and its first docstring line."""

    id: str
    down: str | None
    title: str


def alembic_config(url: str) -> Config:
    """An Alembic config for `url`, without an alembic.ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(app: Flask, revision: str = "head") -> None:
    """Bring the app's database to `revision`, creating it (and instance/) if needed."""
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    with _reported(revision):
        command.upgrade(alembic_config(database_url(app)), revision)


def downgrade(app: Flask, revision: str) -> None:
    """Undo migrations down to `revision` (an id, `-1`, or `base` for an empty database)."""
    with _reported(revision):
        command.downgrade(alembic_config(database_url(app)), revision)


def current_revision(app: Flask) -> str | None:
    """The revision the app's database is at; None for a database without Zgoda's schema."""
    url = database_url(app)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        if not Path(parsed.database).is_file():  # connecting would create an empty file
            return None
    with _reported(None):
        engine = create_engine(url, poolclass=pool.NullPool)
        try:
            with engine.connect() as connection:
                revision: str | None = MigrationContext.configure(connection).get_current_revision()
                return revision
        finally:
            engine.dispose()


def history() -> list[Revision]:
    """Every migration script, newest first."""
    scripts = ScriptDirectory(str(MIGRATIONS))
    return [
        Revision(
            id=script.revision,
            down=script.down_revision if isinstance(script.down_revision, str) else None,
            title=(script.doc or "").strip().splitlines()[0] if script.doc else "",
        )
        for script in scripts.walk_revisions()
    ]


def head_revision() -> str | None:
    """The newest migration's revision."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def to_undo(current: str | None, target: str) -> tuple[str, list[Revision]]:
    """The revision `target` names (an id, `-N` steps back, `base`) below `current`, and the
    revisions a downgrade there undoes, newest first."""
    ids = [revision.id for revision in history()]
    if current not in ids:
        raise StorageError("the database has no Zgoda schema to downgrade: nothing to undo")
    at = ids.index(current)
    if target == "base":
        below = len(ids)
    elif target.startswith("-") and target[1:].isdigit():
        below = at + int(target[1:])
        if below > len(ids):
            raise StorageError(f"revision {target!r}: only {len(ids) - at} migrations to undo")
    elif target in ids:
        below = ids.index(target)
        if below < at:
            raise StorageError(f"revision {target!r} is newer than the database's {current}")
    else:
        raise StorageError(
            f"revision {target!r}: no such revision (`zgoda db history` lists them; "
            "or -1, -2, ... steps back, or base)"
        )
    resolved = "base" if below == len(ids) else ids[below]
    return resolved, history()[at:below]


@contextmanager
def _reported(revision: str | None) -> Iterator[None]:
    try:
        yield
    except CommandError as error:
        hint = f"revision {revision!r}: " if revision else ""
        raise StorageError(f"{hint}{error} (`zgoda db history` lists the revisions)") from error
    except SQLAlchemyError as error:
        first_line = (str(error).splitlines() or [type(error).__name__])[0]
        raise StorageError(f"the database cannot be reached: {first_line}") from error

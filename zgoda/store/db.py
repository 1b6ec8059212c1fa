"""The database engine: SQLite in instance/ by default, PostgreSQL via DATABASE_URL."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import current_app
from sqlalchemy import Connection, Engine, create_engine, event

if TYPE_CHECKING:
    from flask import Flask

EXTENSION_KEY = "zgoda_db"


def database_url(app: Flask) -> str:
    """DATABASE_URL if set, else a SQLite file in the instance folder."""
    url = app.config.get("DATABASE_URL")
    if url:
        return str(url).replace("postgresql://", "postgresql+psycopg://", 1)
    return f"sqlite:///{Path(app.instance_path) / 'zgoda.sqlite3'}"


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, full fsync and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    return create_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=True)


def _configure_sqlite(connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; FULL syncs each commit, so a record
    # answered 201 survives even a power cut, not only a killed process.
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it).
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    # Writers that read before they write (appending to a hash chain) ask for
    # sqlite_begin="IMMEDIATE" to take the write lock first; readers stay deferred.
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def writer_turn(engine: Engine) -> Iterator[None]:
    """On a SQLite file, wait for the writer's turn, across threads and processes.

    SQLite's own busy handler polls with sleeps of up to 100 ms, so writers that collide
    on BEGIN IMMEDIATE wait far longer than the lock is held. A blocking flock() on a
    file beside the database wakes the next writer as soon as the lock is released.
    Each turn opens the file anew: flock() locks an open file, so threads conflict too.
    """
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(database + ".writer-lock", "a+b") as lock_file:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
        yield  # closing the file releases the lock


def init_app(app: Flask) -> None:
    """Create the engine (no connection is made until first use)."""
    app.extensions[EXTENSION_KEY] = make_engine(database_url(app))


def engine() -> Engine:
    """The current app's engine."""
    bound: Engine = current_app.extensions[EXTENSION_KEY]
    return bound

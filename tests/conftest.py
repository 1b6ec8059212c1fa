"""Shared fixtures: the app, its test client and CLI runner, and notice folders to break."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from app import create_app
from zgoda.store.migrate import alembic_config, upgrade
from zgoda.store.tables import metadata

ROOT = Path(__file__).resolve().parent.parent
NOTICES_DIR = ROOT / "notices"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SITES = sorted(path.name for path in NOTICES_DIR.iterdir() if (path / "notice.yaml").is_file())
LANGS = ("pl", "en")


PRODUCTION = {
    "ZGODA_SECRET_KEY": "a-production-secret-of-at-least-32-bytes",
    "ZGODA_PUBLIC_URL": "https://consent.example.com",
}


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment with no ZGODA_* variable of the test run's own."""
    for name in [n for n in os.environ if n.startswith("ZGODA_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return monkeypatch


@pytest.fixture
def app() -> Iterator[Flask]:
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret"})
    yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def notices_copy(tmp_path: Path) -> Path:
    """A writable copy of notices/, for tests that edit or break a notice."""
    target = tmp_path / "notices"
    shutil.copytree(NOTICES_DIR, target)
    return target


# --- the consent log, on both databases -------------------------------------------------

POSTGRES_ADMIN_URL = os.environ.get(
    "ZGODA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def migrate(url: str) -> None:
    """Bring the database at `url` to the newest schema."""
    command.upgrade(alembic_config(url), "head")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated, dropped at the end."""
    name = f"zgoda_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite log that each test copies (migrating costs more than a copy)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "zgoda.sqlite3"
    migrate(f"sqlite:///{path}")
    return path


def empty_postgres(url: str) -> None:
    """Empty every table of the session's database, or rebuild it if a test left its schema
    broken (a table dropped, a migration test that failed halfway)."""
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if current == head:
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                return
    except ProgrammingError:
        pass  # a table is missing: rebuild below
    finally:
        engine.dispose()
    rebuild = create_engine(url)
    with rebuild.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    rebuild.dispose()
    migrate(url)


# The quick loop (`-m "not slow and not browser"`) runs the storage tests on SQLite; the full
# run (`make test`, CI) on PostgreSQL too.
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated consent log: SQLite in tmp_path, or PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "zgoda.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    empty_postgres(url)
    return url


@pytest.fixture
def fuzzed_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on a fresh SQLite log whose rate limit never gets in schemathesis's way."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'zgoda.sqlite3'}",
            "CONSENT_RATE_LIMIT": "1000000 per minute",
        }
    )
    upgrade(app)
    yield app
    app.extensions["zgoda_db"].dispose()


AppFactory = Callable[..., Flask]


@pytest.fixture
def app_factory(database_url: str) -> Iterator[AppFactory]:
    """Make apps on the test database (migrated); their connections close at teardown."""
    apps: list[Flask] = []

    def make(**settings: Any) -> Flask:
        base = {"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": database_url}
        app = create_app(base | settings)
        upgrade(app)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["zgoda_db"].dispose()


@pytest.fixture
def db_app(app_factory: AppFactory) -> Flask:
    """An app on a freshly migrated database (SQLite and PostgreSQL)."""
    return app_factory()

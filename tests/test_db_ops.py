"""Database operations: `zgoda db current/history/upgrade/downgrade`, the models and the
migrations agreeing (Alembic's autogenerate comparison), and the README's backup and restore
recipe keeping the hash chain verifiable, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask
from sqlalchemy import create_engine, inspect, pool, text
from sqlalchemy.engine import make_url

from app import create_app
from tests.conftest import POSTGRES_ADMIN_URL, ROOT
from tests.test_api import record
from zgoda.store.migrate import head_revision, history
from zgoda.store.tables import metadata

REVISIONS = [revision.id for revision in history()]  # newest first


@pytest.fixture
def scratch_postgres() -> Iterator[list[str]]:
    """Make empty PostgreSQL databases on demand (`new()`), each dropped at the end."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    made: list[str] = []
    yield made
    with admin.connect() as connection:
        for name in made:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def new_postgres(made: list[str]) -> str:
    """A new empty PostgreSQL database's SQLAlchemy URL."""
    name = f"zgoda_ops_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    made.append(name)
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path, scratch_postgres: list[str]) -> str:
    """The URL of a database with nothing in it yet: no tables, no alembic_version."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'zgoda.sqlite3'}"
    return new_postgres(scratch_postgres)


@pytest.fixture
def apps() -> Iterator[list[Flask]]:
    made: list[Flask] = []
    yield made
    for app in made:
        if "zgoda_db" in app.extensions:
            app.extensions["zgoda_db"].dispose()


def app_on(url: str, apps: list[Flask]) -> Flask:
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": url})
    apps.append(app)
    return app


def zgoda_db(app: Flask, *args: str, answer: str | None = None) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["db", *args], input=answer)
    return result.exit_code, result.output


def differences(url: str) -> list[object]:
    """What Alembic's autogenerate would write to make the database match tables.py."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return list(compare_metadata(MigrationContext.configure(connection), metadata))
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


# --- the models and the migrations agree -----------------------------------------------


def test_the_migrations_at_head_match_the_models(empty_url: str, apps: list[Flask]) -> None:
    app = app_on(empty_url, apps)
    assert zgoda_db(app, "upgrade")[0] == 0
    assert differences(empty_url) == []
    assert tables(empty_url) == {table.name for table in metadata.sorted_tables} | {
        "alembic_version"
    }


def test_the_comparison_sees_a_model_the_migrations_lack(empty_url: str, apps: list[Flask]) -> None:
    """The check can fail: a database one migration short of head differs from the models."""
    app = app_on(empty_url, apps)
    assert zgoda_db(app, "upgrade", REVISIONS[1])[0] == 0
    assert differences(empty_url) != []


# --- current, history, upgrade, downgrade ------------------------------------------------


def test_current_history_downgrade_and_upgrade_round_trip(
    empty_url: str, apps: list[Flask]
) -> None:
    app = app_on(empty_url, apps)
    code, output = zgoda_db(app, "current")
    assert code == 1 and "has no Zgoda schema: `zgoda db upgrade` creates it" in output

    assert zgoda_db(app, "upgrade")[0] == 0
    code, output = zgoda_db(app, "current")
    assert code == 0 and output.startswith(f"{head_revision()} (head)")

    code, output = zgoda_db(app, "history")
    assert code == 0
    listed = [line.split()[0] for line in output.splitlines()]
    assert listed == REVISIONS
    assert output.splitlines()[0].endswith("<- database")

    code, output = zgoda_db(app, "downgrade", "-1", "--yes")
    assert code == 0, output
    assert f"undoing:\n  {REVISIONS[0]}  " in output
    code, output = zgoda_db(app, "current")
    assert code == 1 and output.startswith(REVISIONS[1])
    assert f"the newest revision is {REVISIONS[0]}: run `zgoda db upgrade`" in output

    code, output = zgoda_db(app, "downgrade", "base", "--yes")
    assert code == 0, output
    assert tables(empty_url) == {"alembic_version"}  # every downgrade undoes its upgrade
    assert zgoda_db(app, "upgrade")[0] == 0
    assert differences(empty_url) == []


def test_downgrade_asks_first_and_a_no_changes_nothing(empty_url: str, apps: list[Flask]) -> None:
    app = app_on(empty_url, apps)
    zgoda_db(app, "upgrade")
    code, output = zgoda_db(app, "downgrade", "base", answer="n\n")
    assert code == 1
    assert "The data those migrations hold is deleted. Continue?" in output
    assert "Aborted" in output
    assert zgoda_db(app, "current")[1].startswith(f"{head_revision()} (head)")


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("9999", "revision '9999': no such revision (`zgoda db history` lists them"),
        (
            f"-{len(REVISIONS) + 1}",
            f"revision '-{len(REVISIONS) + 1}': only {len(REVISIONS)} migrations to undo",
        ),
    ],
)
def test_downgrade_refuses_a_revision_it_cannot_reach(
    target: str, problem: str, tmp_path: Path, apps: list[Flask]
) -> None:
    app = app_on(f"sqlite:///{tmp_path / 'zgoda.sqlite3'}", apps)
    zgoda_db(app, "upgrade")
    code, output = zgoda_db(app, "downgrade", target, "--yes")
    assert code == 1
    assert f"Error: {problem}" in output
    assert "Traceback" not in output


def test_a_newer_revision_is_no_downgrade_target(tmp_path: Path, apps: list[Flask]) -> None:
    app = app_on(f"sqlite:///{tmp_path / 'zgoda.sqlite3'}", apps)
    zgoda_db(app, "upgrade", REVISIONS[2])
    code, output = zgoda_db(app, "downgrade", REVISIONS[0], "--yes")
    assert code == 1
    assert f"revision '{REVISIONS[0]}' is newer than the database's {REVISIONS[2]}" in output


def test_an_unknown_upgrade_revision_and_an_unreachable_database_are_errors(
    tmp_path: Path, apps: list[Flask]
) -> None:
    app = app_on(f"sqlite:///{tmp_path / 'zgoda.sqlite3'}", apps)
    code, output = zgoda_db(app, "upgrade", "9999")
    assert code == 1 and "Error: revision '9999':" in output and "Traceback" not in output
    unreachable = app_on("postgresql+psycopg://zgoda@127.0.0.1:1/zgoda", apps)
    for args in (("current",), ("upgrade",)):
        code, output = zgoda_db(unreachable, *args)
        assert code == 1, args
        assert "Error: the database cannot be reached: " in output
        assert "Traceback" not in output


def test_current_names_no_password(apps: list[Flask]) -> None:
    url = "postgresql+psycopg://zgoda:s3cret-password@127.0.0.1:1/zgoda"
    code, output = zgoda_db(app_on(url, apps), "current")
    assert "s3cret-password" not in output


# --- backup and restore, as the README shows it -----------------------------------------


def readme_recipe() -> str:
    """The README's backup-and-restore commands, the text a test runs."""
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("**Backup and restore.**", 1)[1].split("```sh\n", 1)[1]
    return section.split("```", 1)[0]


def libpq(url: str) -> str:
    """The psycopg SQLAlchemy URL as the libpq URL pg_dump and pg_restore take."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def verify_lines(app: Flask) -> tuple[int, list[str]]:
    result = app.test_cli_runner().invoke(args=["consents", "verify", "--db"])
    return result.exit_code, result.output.splitlines()


@pytest.mark.slow
def test_a_postgresql_backup_restores_with_a_verifiable_chain(
    scratch_postgres: list[str], apps: list[Flask], tmp_path: Path
) -> None:
    live_url = new_postgres(scratch_postgres)
    live = app_on(live_url, apps)
    zgoda_db(live, "upgrade")
    client = live.test_client()
    for action in ("accept_all", "reject_all", "accept_all", "reject_all", "accept_all"):
        record(client, action=action)
    code, live_report = verify_lines(live)
    assert code == 0 and live_report[0].startswith("optingo: OK: 5 records")

    # The README's commands, with this test's databases and dump file in their place.
    restored_url = new_postgres(scratch_postgres)
    dump = tmp_path / "zgoda.dump"
    commands = [line for line in readme_recipe().splitlines() if line.startswith("pg_")]
    assert [c.split()[0] for c in commands] == ["pg_dump", "pg_restore"]
    for command in commands:
        command = command.replace("zgoda.dump", str(dump))
        command = re.sub(r'"postgresql://[^"]*/zgoda"', f'"{libpq(live_url)}"', command)
        command = re.sub(
            r'"postgresql://[^"]*/zgoda_restored"', f'"{libpq(restored_url)}"', command
        )
        done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (command, done.stderr)

    restored = app_on(restored_url, apps)
    assert zgoda_db(restored, "current")[1].startswith(f"{head_revision()} (head)")
    code, restored_report = verify_lines(restored)
    assert code == 0, restored_report
    assert restored_report == live_report  # same records, same last hash

    # The restored log goes on: a new record continues its chain (heads and ids restored).
    record(restored.test_client())
    code, report = verify_lines(restored)
    assert code == 0 and report[0].startswith("optingo: OK: 6 records"), report

    # And the check is real: an edited record in the restored copy breaks it.
    engine = create_engine(restored_url, poolclass=pool.NullPool)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE consent_events SET action = 'accept_all' WHERE sequence = 2")
        )
    engine.dispose()
    code, report = verify_lines(restored)
    assert code == 1 and report[0].startswith("optingo: BROKEN at record 2"), report


def test_a_sqlite_backup_with_the_backup_api_keeps_the_chain(
    tmp_path: Path, apps: list[Flask]
) -> None:
    """The README's SQLite line: the online backup API, safe beside a running writer (WAL)."""
    live_path, copy_path = tmp_path / "zgoda.sqlite3", tmp_path / "backup.sqlite3"
    live = app_on(f"sqlite:///{live_path}", apps)
    zgoda_db(live, "upgrade")
    for action in ("accept_all", "reject_all", "accept_all"):
        record(live.test_client(), action=action)
    readme = (ROOT / "README.md").read_text("utf-8")
    assert (
        "sqlite3.connect('instance/zgoda.sqlite3').backup(sqlite3.connect('backup.sqlite3'))"
        in readme
    )
    source, target = sqlite3.connect(live_path), sqlite3.connect(copy_path)
    with source, target:
        source.backup(target)
    source.close()
    target.close()
    code, report = verify_lines(app_on(f"sqlite:///{copy_path}", apps))
    assert code == 0 and report == verify_lines(live)[1]
    assert report[0].startswith("optingo: OK: 3 records")

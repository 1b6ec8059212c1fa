"""The consent log on SQLite and on PostgreSQL: the same tests, both databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import inspect
from sqlalchemy.dialects import sqlite

from zgoda.store import ConsentEvent, append_event, count_events, events_for, iter_events
from zgoda.store.appender import INSERTED_COLUMNS, chain_sql
from zgoda.store.db import engine as app_engine
from zgoda.store.tables import consent_events

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def make_event(**overrides: object) -> ConsentEvent:
    event = ConsentEvent(
        site_id="optingo",
        consent_id="6f1c1c8e-8d3e-4b8e-9d7a-0b1f2b3c4d5e",
        notice_version="0123456789abcdef",
        content_hash="fedcba9876543210",
        locale="pl",
        action="custom",
        choices={"necessary": True, "statistics": True, "advertising": False},
        source="banner",
        gpc=False,
        user_agent_family="Firefox",
        ip_prefix="203.0.113.0/24",
        recorded_at=NOW,
        expires_at=NOW + timedelta(days=180),
    )
    return replace(event, **overrides)  # type: ignore[arg-type]


# What linking adds to an event's record (appender.link).
LINKED = {"sequence": 1, "prev_hash": "0" * 64, "personal_hash": "1" * 64, "record_hash": "2" * 64}


def test_migration_creates_the_log_table(db_app: Flask) -> None:
    with db_app.app_context():
        inspector = inspect(app_engine())
        columns = {column["name"] for column in inspector.get_columns("consent_events")}
    assert {"recorded_at", "consent_id", "notice_version", "choices", "gpc", "ip_prefix"} <= columns
    assert "user_agent" not in columns  # only the family is kept
    assert "ip_address" not in columns  # never the raw address


def test_an_event_reads_back_exactly(db_app: Flask) -> None:
    with db_app.app_context():
        event = make_event()
        append_event(app_engine(), event)
        assert events_for(app_engine(), "optingo", event.consent_id) == [event]


def test_history_is_per_site_and_consent_in_order(db_app: Flask) -> None:
    with db_app.app_context():
        first = make_event(action="accept_all", recorded_at=NOW)
        second = make_event(action="withdraw", recorded_at=NOW + timedelta(minutes=5))
        other_consent = make_event(consent_id="00000000-0000-4000-8000-000000000000")
        other_site = make_event(site_id="xopero")
        for event in (first, other_consent, second, other_site):
            append_event(app_engine(), event)
        assert events_for(app_engine(), "optingo", first.consent_id) == [first, second]
        assert count_events(app_engine(), "optingo") == 3
        assert count_events(app_engine()) == 4
        assert [e.site_id for e in iter_events(app_engine(), "xopero")] == ["xopero"]


def test_ids_grow_with_each_append(db_app: Flask) -> None:
    with db_app.app_context():
        ids = [append_event(app_engine(), make_event()) for _ in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3


# What each database says of a site id that is not there (the chain head is written first).
MISSING_SITE = {
    "sqlite": r"^NOT NULL constraint failed: chain_heads\.site_id$",
    "postgresql": r'^null value in column "site_id" of relation "chain_heads" violates not-null',
}


def test_an_invalid_event_is_not_half_written(db_app: Flask) -> None:
    with db_app.app_context():
        bound = app_engine()
        # The append runs on the driver's cursor, so the driver's own IntegrityError.
        integrity_error = bound.dialect.loaded_dbapi.IntegrityError
        with pytest.raises(integrity_error, match=MISSING_SITE[bound.dialect.name]):
            append_event(bound, make_event(site_id=None))
        assert count_events(bound) == 0


def test_a_rows_choices_are_spelled_as_sqlalchemy_spells_them() -> None:
    """The remembered JSON text of the choices is SQLAlchemy's own, for each order and type."""
    dialect = sqlite.dialect()
    spelled = consent_events.c.choices.type.dialect_impl(dialect).bind_processor(dialect)
    sql = chain_sql(dialect)  # one converter, remembering across the rows below
    for choices in (
        {"necessary": True, "statistics": False},
        {"statistics": False, "necessary": True},  # the same choices in another order
        {"necessary": True, "statistics": 0},  # equal to the first, but not a bool
        {"necessary": True, "statistics": False},  # remembered by now
    ):
        row = sql.row(make_event(choices=dict(choices)).record() | LINKED)
        assert row[INSERTED_COLUMNS.index("choices")] == spelled(choices)

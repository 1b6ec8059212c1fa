"""Append to and read from the consent log. Rows are inserted, never updated."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC

from sqlalchemy import Connection, Engine, RowMapping, func, select

from zgoda.store.appender import append_all, chain_sql
from zgoda.store.db import writer_turn
from zgoda.store.event import EVENT_FIELDS, ConsentEvent
from zgoda.store.tables import consent_events


def append_event(engine: Engine, event: ConsentEvent) -> int:
    """Append one event to its site's chain, in one transaction; returns its sequence number.

    The site's chain head is locked while the event is linked to it (a row lock on
    PostgreSQL, the database write lock on SQLite), so concurrent writers from any
    number of app instances produce one unbroken chain. Request handlers append through
    `group_commit.group_commit(engine).append` instead, which shares transactions.
    """
    with writing(engine) as connection:
        return append_in(connection, event)


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A transaction that may read the chain and then extend or change it."""
    with writer_turn(engine), engine.connect() as connection:
        with connection.execution_options(sqlite_begin="IMMEDIATE").begin():
            yield connection


def append_in(connection: Connection, event: ConsentEvent) -> int:
    """Link `event` to its site's chain inside the caller's `writing` transaction."""
    return append_all_in(connection, [event])[0]


def append_all_in(connection: Connection, events: list[ConsentEvent]) -> list[int]:
    """Link `events`, in order, to their sites' chains inside one `writing` transaction.

    Returns their sequence numbers (see `appender.append_all`, which this runs on the
    connection's own DBAPI cursor, inside the same transaction).
    """
    with closing(connection.connection.cursor()) as cursor:
        return append_all(cursor, chain_sql(connection.dialect), events)


def events_for(engine: Engine, site_id: str, consent_id: str) -> list[ConsentEvent]:
    """The history of one consent id, oldest first."""
    query = (
        select(consent_events)
        .where(consent_events.c.site_id == site_id, consent_events.c.consent_id == consent_id)
        .order_by(consent_events.c.id)
    )
    with engine.connect() as connection:
        return [_event(row._mapping) for row in connection.execute(query)]


@dataclass(frozen=True)
class LoggedEvent:
    """An event with its place in the site's hash chain: the proof it was logged."""

    event: ConsentEvent
    sequence: int
    record_hash: str


def history_for(engine: Engine, site_id: str, consent_id: str) -> list[LoggedEvent]:
    """The history of one consent id with each event's chain link, oldest first."""
    query = (
        select(consent_events)
        .where(consent_events.c.site_id == site_id, consent_events.c.consent_id == consent_id)
        .order_by(consent_events.c.sequence)
    )
    with engine.connect() as connection:
        return [
            LoggedEvent(_event(row._mapping), int(row.sequence), str(row.record_hash))
            for row in connection.execute(query)
        ]


def iter_events(engine: Engine, site_id: str) -> Iterator[ConsentEvent]:
    """Every event of a site, oldest first, streamed from the database."""
    query = (
        select(consent_events)
        .where(consent_events.c.site_id == site_id)
        .order_by(consent_events.c.id)
    )
    with engine.connect() as connection:
        for row in connection.execution_options(yield_per=1000).execute(query):
            yield _event(row._mapping)


def count_events(engine: Engine, site_id: str | None = None) -> int:
    """How many events the log holds (for one site, or in all)."""
    query = select(func.count()).select_from(consent_events)
    if site_id is not None:
        query = query.where(consent_events.c.site_id == site_id)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def _event(row: RowMapping) -> ConsentEvent:
    # The row also holds what the log stores beside the event: its id and chain columns.
    values = {name: row[name] for name in EVENT_FIELDS}
    for column in ("recorded_at", "expires_at", "chosen_at"):
        # SQLite keeps no time zone; every time we store is UTC.
        if values[column] is not None and values[column].tzinfo is None:
            values[column] = values[column].replace(tzinfo=UTC)
    return ConsentEvent(**values)

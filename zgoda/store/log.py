"""Append to and read from the consent log. Rows are inserted, never updated."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert

from zgoda.store.chain import GENESIS, link_hash, personal_hash
from zgoda.store.db import writer_turn
from zgoda.store.tables import chain_heads, consent_events

# Stored beside each event by append_event; not part of what a caller records.
CHAIN_COLUMNS = ("id", "sequence", "personal_hash", "prev_hash", "record_hash", "erased_at")


@dataclass(frozen=True)
class ConsentEvent:
    """One recorded choice: what was shown, what was chosen, and how."""

    site_id: str
    consent_id: str
    notice_version: str
    content_hash: str
    locale: str
    action: str
    choices: dict[str, bool]
    source: str
    gpc: bool
    user_agent_family: str
    ip_prefix: str | None
    recorded_at: datetime
    expires_at: datetime


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

    Returns their sequence numbers. The heads are locked in site order, so two instances
    appending to the same sites cannot deadlock.
    """
    heads = {site: _lock_head(connection, site) for site in sorted({e.site_id for e in events})}
    records = []
    for event in events:
        sequence, prev_hash = heads[event.site_id]
        record = event_record(event)
        record["sequence"] = sequence + 1
        record["prev_hash"] = prev_hash
        record["personal_hash"] = personal_hash(record)
        record["record_hash"] = link_hash(prev_hash, record)
        heads[event.site_id] = (sequence + 1, record["record_hash"])
        records.append(record)
    connection.execute(INSERT_EVENT, records)
    for site, (sequence, record_hash) in heads.items():
        connection.execute(
            MOVE_HEAD, {"head_site": site, "head_sequence": sequence, "head_hash": record_hash}
        )
    return [record["sequence"] for record in records]


def event_record(event: ConsentEvent) -> dict[str, Any]:
    """The event's fields as a new dict (dataclasses.asdict deep-copies, which is slow)."""
    record = {name: getattr(event, name) for name in EVENT_FIELDS}
    record["choices"] = dict(event.choices)
    return record


# Built once: statements executed with parameters hit SQLAlchemy's compiled cache directly.
EVENT_FIELDS = tuple(field.name for field in fields(ConsentEvent))
INSERT_EVENT = insert(consent_events)
HEAD_OF_SITE = select(chain_heads.c.sequence, chain_heads.c.record_hash).where(
    chain_heads.c.site_id == bindparam("head_site")
)
LOCK_HEAD = HEAD_OF_SITE.with_for_update()
NEW_HEAD = insert(chain_heads).values(
    site_id=bindparam("head_site"), sequence=0, record_hash=GENESIS
)
MOVE_HEAD = (
    update(chain_heads)
    .where(chain_heads.c.site_id == bindparam("head_site"))
    .values(sequence=bindparam("head_sequence"), record_hash=bindparam("head_hash"))
)
NEW_HEAD_IF_MISSING = (
    postgresql_insert(chain_heads)
    .values(site_id=bindparam("head_site"), sequence=0, record_hash=GENESIS)
    .on_conflict_do_nothing()
)


def _lock_head(connection: Connection, site_id: str) -> tuple[int, str]:
    """The site's newest sequence and hash, with its head row locked until commit."""
    site = {"head_site": site_id}
    if connection.dialect.name == "postgresql":
        locked = connection.execute(LOCK_HEAD, site).one_or_none()
        if locked is None:  # the site's first event: create its head, or wait for a racer's
            connection.execute(NEW_HEAD_IF_MISSING, site)
            locked = connection.execute(LOCK_HEAD, site).one()
        return int(locked[0]), str(locked[1])
    # SQLite: BEGIN IMMEDIATE already holds the write lock.
    head = connection.execute(HEAD_OF_SITE, site).one_or_none()
    if head is None:
        connection.execute(NEW_HEAD, site)
        return 0, GENESIS
    return int(head[0]), str(head[1])


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


def _event(row: object) -> ConsentEvent:
    values = dict(row)  # type: ignore[call-overload]
    for column in CHAIN_COLUMNS:
        values.pop(column)
    for column in ("recorded_at", "expires_at"):
        # SQLite keeps no time zone; every time we store is UTC.
        if values[column].tzinfo is None:
            values[column] = values[column].replace(tzinfo=UTC)
    return ConsentEvent(**values)

"""Link events into their sites' chains and write them, with the SQL prepared once per dialect.

Every consent write runs this, so it talks to the DBAPI cursor directly: SQLAlchemy spells
the statements' columns and each column's value conversion once (from `tables.py`), and an
append then costs a few driver calls instead of a Core execute per statement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Dialect

from zgoda.store.chain import GENESIS, link_hash, personal_hash
from zgoda.store.event import ConsentEvent
from zgoda.store.tables import chain_heads, consent_events
from zgoda.webhooks.outbox import enqueue

# What an append writes: every column but the generated id and the erasure time.
INSERTED_COLUMNS = tuple(
    column.name for column in consent_events.columns if column.name not in ("id", "erased_at")
)

Heads = dict[str, tuple[int, str]]  # site -> (newest sequence, newest record hash)


@dataclass(frozen=True)
class ChainSql:
    """The statements of an append, spelled for one dialect, and the value conversions."""

    postgresql: bool
    insert_event: str
    read_head: str  # locks the head row on PostgreSQL; SQLite holds the write lock already
    new_head: str
    move_head: str
    converters: tuple[Callable[[Any], Any] | None, ...]

    def row(self, record: dict[str, Any]) -> tuple[Any, ...]:
        """The record's values in INSERTED_COLUMNS order, as the driver takes them."""
        return tuple(
            [
                record[name] if convert is None else convert(record[name])
                for name, convert in zip(INSERTED_COLUMNS, self.converters, strict=True)
            ]
        )


@lru_cache(maxsize=16)
def chain_sql(dialect: Dialect) -> ChainSql:
    """The append statements for `dialect` (sqlite3's ? or psycopg's %s placeholders)."""
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    postgresql = dialect.name == "postgresql"
    events, heads = consent_events.name, chain_heads.name
    converters: tuple[Callable[[Any], Any] | None, ...] = tuple(
        consent_events.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        for name in INSERTED_COLUMNS
    )
    # Each write spelled its choices' JSON anew; a few distinct choices are spelled once.
    choices = INSERTED_COLUMNS.index("choices")
    if (convert_choices := converters[choices]) is not None:
        converters = (
            converters[:choices] + (remembered_text(convert_choices),) + converters[choices + 1 :]
        )
    new_head = f"INSERT INTO {heads} (site_id, sequence, record_hash) VALUES ({mark}, 0, {mark})"
    return ChainSql(
        postgresql=postgresql,
        insert_event=(
            f"INSERT INTO {events} ({', '.join(INSERTED_COLUMNS)}) "
            f"VALUES ({', '.join([mark] * len(INSERTED_COLUMNS))})"
        ),
        read_head=(
            f"SELECT sequence, record_hash FROM {heads} WHERE site_id = {mark}"
            + (" FOR UPDATE" if postgresql else "")
        ),
        # Two instances may add a site's first head at once: one wins, the other waits for it.
        new_head=new_head + (" ON CONFLICT DO NOTHING" if postgresql else ""),
        move_head=f"UPDATE {heads} SET sequence = {mark}, record_hash = {mark} WHERE site_id = {mark}",
        converters=converters,
    )


# Choices texts kept per converter at most: the distinct choices of a site's purposes.
CHOICES_TEXTS = 4096


def remembered_text(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`convert` (SQLAlchemy's JSON text of a record's choices) remembered per choices.

    Visitors make few distinct choices, and every write spelled them again. Only choices of
    str keys and bool values are remembered, by their items in order (the text keeps the
    dict's order): an equal key then spells the same text (1 == True would not).
    """
    texts: dict[tuple[tuple[str, bool], ...], Any] = {}

    def text(choices: Any) -> Any:
        if type(choices) is not dict or not all(
            type(key) is str and type(value) is bool for key, value in choices.items()
        ):
            return convert(choices)
        items = tuple(choices.items())
        found = texts.get(items)
        if found is None:
            found = convert(choices)
            # Only text: psycopg's adapter wraps the dict itself, which must not be shared.
            if type(found) is str and len(texts) < CHOICES_TEXTS:
                texts[items] = found
        return found

    return text


def append_all(cursor: Any, sql: ChainSql, events: list[ConsentEvent]) -> list[int]:
    """Link `events`, in order, into their sites' chains inside the cursor's transaction.

    The caller's transaction must already hold the right to extend the chains (SQLite:
    BEGIN IMMEDIATE; PostgreSQL: any, the heads are locked here). Returns the sequences.
    """
    heads = lock_heads(cursor, sql, {event.site_id for event in events})
    return write_events(cursor, sql, events, heads)


def lock_heads(cursor: Any, sql: ChainSql, sites: set[str]) -> Heads:
    """The sites' chain heads, locked until the transaction ends.

    They are locked in site order, so two instances appending to the same sites cannot
    deadlock (on SQLite the transaction's write lock covers them all already).
    """
    return {site: lock_head(cursor, sql, site) for site in sorted(sites)}


def write_events(cursor: Any, sql: ChainSql, events: list[ConsentEvent], heads: Heads) -> list[int]:
    """Insert `events` linked onto the locked `heads` and move the heads; returns the sequences."""
    records = link(events, heads)
    cursor.executemany(sql.insert_event, [sql.row(record) for record in records])
    cursor.executemany(
        sql.move_head, [(sequence, hash_, site) for site, (sequence, hash_) in heads.items()]
    )
    enqueue(cursor, sql.postgresql, records)  # the webhook outbox, in the same transaction
    return [record["sequence"] for record in records]


def link(events: list[ConsentEvent], heads: Heads) -> list[dict[str, Any]]:
    """The events as records chained onto `heads` (which move to the last record of each site)."""
    records = []
    for event in events:
        sequence, prev_hash = heads[event.site_id]
        record = event.record()
        record["sequence"] = sequence + 1
        record["prev_hash"] = prev_hash
        record["personal_hash"] = personal_hash(record)
        record["record_hash"] = link_hash(prev_hash, record)
        heads[event.site_id] = (sequence + 1, record["record_hash"])
        records.append(record)
    return records


def lock_head(cursor: Any, sql: ChainSql, site_id: str) -> tuple[int, str]:
    """The site's newest sequence and hash (its head row locked on PostgreSQL until commit)."""
    head = cursor.execute(sql.read_head, (site_id,)).fetchone()
    if head is None:  # the site's first event
        cursor.execute(sql.new_head, (site_id, GENESIS))
        if not sql.postgresql:
            return 0, GENESIS
        head = cursor.execute(sql.read_head, (site_id,)).fetchone()  # ours, or a racer's
    return int(head[0]), str(head[1])

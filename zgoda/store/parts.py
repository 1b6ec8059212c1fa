"""Reading a site's records as `RecordParts`: the database side of exports and chain checks.

Reading records through SQLAlchemy's column types would cost a dict and a type conversion
per value; at a million records that work is most of an export's time, so this reader
selects the columns already spelled as the hashes need them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    String,
    Text,
    cast,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement

from zgoda.store.chain import PARTS, Choices, RecordParts, canonical_time
from zgoda.store.tables import consent_events

# Where the parts this reader respells stand in a record's tuple.
RECORDED_PART, CHOICES_PART, EXPIRES_PART, CHOSEN_PART = (
    PARTS.index(name) for name in ("recorded_at", "choices", "expires_at", "chosen_at")
)
# Rows fetched per round trip (and per server-side cursor batch on PostgreSQL).
FETCH = 5000
# Distinct choices texts remembered per stream; a log holds few (one per combination).
CHOICES_MEMO = 4096
# How SQLAlchemy writes a time into SQLite: a naive UTC time, always with microseconds.
SQLITE_TIME = re.compile(
    r"[1-9][0-9]{3}-[01][0-9]-[0-3][0-9] (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{6}",
    re.ASCII,
)
# PostgreSQL spells the canonical time itself (FM: years before 1000 unpadded, as strftime).
POSTGRES_TIME = 'FMYYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def _time_column(connection: Connection, name: str) -> ColumnElement[Any]:
    column = consent_events.c[name]
    if connection.dialect.name == "postgresql":
        utc = column.op("AT TIME ZONE")(literal_column("'UTC'"))
        return func.to_char(utc, POSTGRES_TIME, type_=String)
    return type_coerce(column, String)  # SQLite: the stored text, parsed below


def _time_reader(connection: Connection) -> Callable[[Any], Any]:
    """Turns a time column as selected by `_time_column` into its canonical spelling."""
    if connection.dialect.name == "postgresql":
        return lambda value: value  # already canonical
    datetime_type = consent_events.c.recorded_at.type.dialect_impl(connection.dialect)
    parse = datetime_type.result_processor(connection.dialect, None)
    assert parse is not None
    match, check = SQLITE_TIME.fullmatch, datetime.fromisoformat

    def read(value: Any) -> Any:
        if type(value) is str and match(value) is not None:
            check(value)  # a real date, or the ValueError SQLAlchemy's parser would raise
            return f"{value[:10]}T{value[11:]}Z"
        moment: Any = parse(value)  # None (a NULL) fails here, as SQLAlchemy's type would
        return canonical_time(moment)  # the spelling of the time SQLAlchemy reads

    return read


def record_parts(
    connection: Connection,
    site_id: str,
    choices: Callable[[str], Choices],
    first: int | None = None,
    last: int | None = None,
) -> Generator[RecordParts[Choices]]:
    """The site's records (sequences `first` to `last`) in chain order, streamed: times
    canonical, `choices` applied to the stored choices JSON text (once per distinct
    text), `gpc` and `erased` as flags (bools, or 0 and 1 on SQLite)."""
    c = consent_events.c
    respelled = {
        "recorded_at": _time_column(connection, "recorded_at"),
        "expires_at": _time_column(connection, "expires_at"),
        "chosen_at": _time_column(connection, "chosen_at"),
        "choices": cast(c.choices, Text),
        "gpc": type_coerce(c.gpc, Integer),
        "erased": type_coerce(c.erased_at.is_not(None), Integer),
    }
    query = select(*(respelled[name] if name in respelled else c[name] for name in PARTS)).where(
        c.site_id == site_id
    )
    if first is not None:
        query = query.where(c.sequence >= first)
    if last is not None:
        query = query.where(c.sequence <= last)
    query = query.order_by(c.sequence)
    read_time = _time_reader(connection)
    memo: dict[str, Choices] = {}
    make = tuple.__new__  # RecordParts._make without its length check: the select has them all
    options = {"stream_results": True, "yield_per": FETCH, "max_row_buffer": FETCH}
    result = connection.execution_options(**options).execute(query)
    try:
        for rows in result.partitions():
            for row in rows:
                part = list(row)
                text = part[CHOICES_PART]
                try:
                    part[CHOICES_PART] = memo[text]
                except KeyError:
                    part[CHOICES_PART] = memo_value = choices(text)
                    if len(memo) < CHOICES_MEMO:
                        memo[text] = memo_value
                part[RECORDED_PART] = read_time(part[RECORDED_PART])
                part[EXPIRES_PART] = read_time(part[EXPIRES_PART])
                if part[CHOSEN_PART] is not None:  # NULL in records from before migration 0004
                    part[CHOSEN_PART] = read_time(part[CHOSEN_PART])
                yield make(RecordParts, part)
    finally:
        result.close()  # a reader that stops early must not leave a server-side cursor open

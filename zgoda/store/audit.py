"""Proof and upkeep of the consent log: chain verification, erasure (Art. 17), retention."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Generator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    String,
    Text,
    cast,
    delete,
    func,
    literal_column,
    select,
    type_coerce,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from zgoda.store.chain import (
    GENESIS,
    ChainReport,
    canonical_choices,
    canonical_time,
    verify_parts,
)
from zgoda.store.log import ConsentEvent, append_in, writing
from zgoda.store.tables import chain_checkpoints, chain_heads, consent_events

ERASED = "erased"


@dataclass(frozen=True)
class Anchor:
    """Where a site's chain starts: the genesis, or the latest retention checkpoint."""

    sequence: int
    record_hash: str


def anchor(connection: Connection, site_id: str) -> Anchor:
    """The start of the site's remaining chain."""
    checkpoint = connection.execute(
        select(chain_checkpoints.c.sequence, chain_checkpoints.c.record_hash)
        .where(chain_checkpoints.c.site_id == site_id)
        .order_by(chain_checkpoints.c.sequence.desc())
        .limit(1)
    ).one_or_none()
    if checkpoint is None:
        return Anchor(0, GENESIS)
    return Anchor(int(checkpoint.sequence), str(checkpoint.record_hash))


def chain_rows(
    connection: Connection, site_id: str, start: datetime | None = None, end: datetime | None = None
) -> Generator[dict[str, Any]]:
    """The site's records in chain order, streamed, as dicts with an `erased` flag."""
    query = select(consent_events).where(consent_events.c.site_id == site_id)
    if start is not None:
        query = query.where(consent_events.c.recorded_at >= start)
    if end is not None:
        query = query.where(consent_events.c.recorded_at < end)
    query = query.order_by(consent_events.c.sequence)
    result = connection.execution_options(stream_results=True, yield_per=2000).execute(query)
    try:
        for row in result.mappings():
            record = dict(row)
            record["erased"] = record["erased_at"] is not None
            yield record
    finally:
        result.close()  # a reader that stops early must not leave a server-side cursor open


# --- the fast path: records as tuples of canonical parts ----------------------------------

Choices = TypeVar("Choices")
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
        moment: Any = parse(value)  # None (a NULL) fails as in chain_rows
        return canonical_time(moment)  # exactly what chain_rows would give

    return read


def record_parts(
    connection: Connection,
    site_id: str,
    choices: Callable[[str], Choices],
    first: int | None = None,
    last: int | None = None,
) -> Generator[tuple[Any, ...]]:
    """The site's records (sequences `first` to `last`) in chain order, streamed, as tuples
    in `chain.PARTS` order: times canonical, `choices` applied to the stored choices JSON
    text (once per distinct text), `gpc` and `erased` as truthy values.

    The same records as `chain_rows`, minus the per-row work of SQLAlchemy's types.
    """
    c = consent_events.c
    query = select(
        c.sequence,
        c.site_id,
        _time_column(connection, "recorded_at"),
        c.notice_version,
        c.content_hash,
        c.locale,
        c.action,
        cast(c.choices, Text),
        c.source,
        type_coerce(c.gpc, Integer),
        _time_column(connection, "expires_at"),
        c.consent_id,
        c.user_agent_family,
        c.ip_prefix,
        type_coerce(c.erased_at.is_not(None), Integer),
        c.personal_hash,
        c.prev_hash,
        c.record_hash,
    ).where(c.site_id == site_id)
    if first is not None:
        query = query.where(c.sequence >= first)
    if last is not None:
        query = query.where(c.sequence <= last)
    query = query.order_by(c.sequence)
    read_time = _time_reader(connection)
    memo: dict[str, Choices] = {}
    options = {"stream_results": True, "yield_per": FETCH, "max_row_buffer": FETCH}
    result = connection.execution_options(**options).execute(query)
    try:
        for rows in result.partitions():
            for row in rows:
                (
                    sequence,
                    site,
                    recorded_at,
                    notice_version,
                    content_hash,
                    locale,
                    action,
                    text,
                    source,
                    gpc,
                    expires_at,
                    consent_id,
                    user_agent_family,
                    ip_prefix,
                    erased,
                    personal_hash,
                    prev_hash,
                    record_hash,
                ) = row
                try:
                    value = memo[text]
                except KeyError:
                    value = choices(text)
                    if len(memo) < CHOICES_MEMO:
                        memo[text] = value
                yield (
                    sequence,
                    site,
                    read_time(recorded_at),
                    notice_version,
                    content_hash,
                    locale,
                    action,
                    value,
                    source,
                    gpc,
                    read_time(expires_at),
                    consent_id,
                    user_agent_family,
                    ip_prefix,
                    erased,
                    personal_hash,
                    prev_hash,
                    record_hash,
                )
    finally:
        result.close()  # a reader that stops early must not leave a server-side cursor open


def _canonical_choices_text(text: str) -> str:
    return canonical_choices(json.loads(text))


def verify_site(engine: Engine, site_id: str) -> ChainReport:
    """Check the site's whole live chain, from its anchor to its head."""
    with engine.connect() as connection:
        start = anchor(connection, site_id)
        parts = record_parts(connection, site_id, _canonical_choices_text)
        with closing(parts) as rows:
            report = verify_parts(rows, start.record_hash, start.sequence)
        head = connection.execute(
            select(chain_heads).where(chain_heads.c.site_id == site_id)
        ).one_or_none()
    # After a purge of every record the chain ends where it starts: at the checkpoint.
    last_hash = report.last_hash or start.record_hash
    if report.ok and head is not None and last_hash != head.record_hash:
        # Every remaining record links up, but the newest ones are gone.
        missing_from = (report.first_sequence or start.sequence + 1) + report.checked
        return ChainReport(
            report.checked,
            report.first_sequence,
            report.last_hash,
            broken_at=missing_from,
            problem=f"records {missing_from} to {head.sequence} are missing (deleted)",
        )
    return report


def erase_consent(engine: Engine, site_id: str, consent_id: str, erase_event: ConsentEvent) -> int:
    """Remove the personal parts of one consent history, log the erasure; returns rows erased.

    Each erased record keeps its personal hash as a tombstone, so the chain still verifies.
    """
    with writing(engine) as connection:
        erased = connection.execute(
            update(consent_events)
            .where(
                consent_events.c.site_id == site_id,
                consent_events.c.consent_id == consent_id,
                consent_events.c.erased_at.is_(None),
            )
            .values(
                consent_id=ERASED,
                user_agent_family=ERASED,
                ip_prefix=None,
                erased_at=erase_event.recorded_at,
            )
        ).rowcount
        if erased:
            append_in(connection, erase_event)
    return int(erased)


def purge_before(engine: Engine, site_id: str, cutoff: datetime, now: datetime) -> int:
    """Delete the site's records older than `cutoff` and leave a checkpoint; returns how many.

    Only a prefix of the chain is deleted (up to the first record that is not old enough),
    so the rest still links to the checkpoint.
    """
    with writing(engine) as connection:
        first_kept = connection.execute(
            select(func.min(consent_events.c.sequence)).where(
                consent_events.c.site_id == site_id, consent_events.c.recorded_at >= cutoff
            )
        ).scalar_one()
        condition = [consent_events.c.site_id == site_id]
        if first_kept is not None:
            condition.append(consent_events.c.sequence < first_kept)
        last_purged = connection.execute(
            select(consent_events.c.sequence, consent_events.c.record_hash)
            .where(*condition)
            .order_by(consent_events.c.sequence.desc())
            .limit(1)
        ).one_or_none()
        if last_purged is None:
            return 0
        purged = connection.execute(delete(consent_events).where(*condition)).rowcount
        connection.execute(
            chain_checkpoints.insert().values(
                site_id=site_id,
                sequence=last_purged.sequence,
                record_hash=last_purged.record_hash,
                purged_count=purged,
                purged_before=cutoff,
                created_at=now,
            )
        )
    return int(purged)

"""The outbox: a delivery row per endpoint for each consent event, in the event's transaction.

The appender calls `enqueue` on the cursor that inserts the events, so a row exists exactly
when its event was committed: an event that was not recorded is never sent, and one that was
is never lost. Only a site with endpoints pays: the active endpoints are read once per
connection and CACHE_SECONDS (the writer's connection lives as long as its process), so an
endpoint added or removed by `flask webhooks` is picked up by every process within
CACHE_SECONDS (at once in the process that made the change); events recorded before that
are not queued for a new endpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.dialects import sqlite as sqlite_dialects

from zgoda.store.event import ERASED
from zgoda.store.tables import webhook_deliveries, webhook_endpoints
from zgoda.webhooks.payload import event_body, new_message_id

CACHE_SECONDS = 2.0
INSERTED = (
    "endpoint_id",
    "site_id",
    "sequence",
    "consent_id",
    "message_id",
    "payload",
    "attempts",
    "created_at",
    "next_attempt_at",
)
EndpointsBySite = dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class OutboxSql:
    """The outbox statements for one DBAPI (sqlite3's ? or psycopg's %s) and conversions."""

    insert: str
    read_endpoints: str
    converters: tuple[Callable[[Any], Any] | None, ...]

    def row(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        """`values` in INSERTED order, as the driver takes them."""
        return tuple(
            value if convert is None else convert(value)
            for value, convert in zip(values, self.converters, strict=True)
        )


@lru_cache(maxsize=2)
def outbox_sql(postgresql: bool) -> OutboxSql:
    """The statements for PostgreSQL (psycopg) or SQLite (sqlite3)."""
    mark = "%s" if postgresql else "?"
    # psycopg takes every value as it is; sqlite3 needs the times spelled as SQLAlchemy does.
    dialect = sqlite_dialects.dialect()
    converters = tuple(
        None if postgresql else column.type.dialect_impl(dialect).bind_processor(dialect)
        for column in (webhook_deliveries.c[name] for name in INSERTED)
    )
    return OutboxSql(
        insert=(
            f"INSERT INTO {webhook_deliveries.name} ({', '.join(INSERTED)}) "
            f"VALUES ({', '.join([mark] * len(INSERTED))})"
        ),
        read_endpoints=(
            f"SELECT id, site_id FROM {webhook_endpoints.name} "
            "WHERE disabled_at IS NULL ORDER BY created_at, id"
        ),
        converters=converters,
    )


@dataclass(frozen=True)
class _Cached:
    connection: Any  # held, so its id() is not reused by another connection while cached
    expires: float
    endpoints: EndpointsBySite


# id(DBAPI connection) -> its endpoints (sqlite3 connections take no weak references).
_cache: dict[int, _Cached] = {}


def forget_endpoints() -> None:
    """Drop the cached endpoints, so this process reads them again on its next write."""
    _cache.clear()


def endpoints_by_site(cursor: Any, sql: OutboxSql) -> EndpointsBySite:
    """The active endpoint ids per site, read on the cursor's connection at most every
    CACHE_SECONDS."""
    now = time.monotonic()
    connection = cursor.connection
    cached = _cache.get(id(connection))
    if cached is not None and cached.connection is connection and cached.expires > now:
        return cached.endpoints
    endpoints: dict[str, list[str]] = {}
    for endpoint_id, site_id in cursor.execute(sql.read_endpoints).fetchall():
        endpoints.setdefault(str(site_id), []).append(str(endpoint_id))
    found = {site: tuple(ids) for site, ids in endpoints.items()}
    for key in [key for key, entry in _cache.items() if entry.expires <= now]:
        del _cache[key]  # expired: let closed connections go
    _cache[id(connection)] = _Cached(connection, now + CACHE_SECONDS, found)
    return found


def enqueue(cursor: Any, postgresql: bool, records: list[dict[str, Any]]) -> int:
    """Queue a delivery of each linked record to each endpoint of its site, on the cursor's
    transaction (one executemany); returns how many rows were queued."""
    sql = outbox_sql(postgresql)
    endpoints = endpoints_by_site(cursor, sql)
    if not endpoints:
        return 0
    now = datetime.now(UTC)
    rows = []
    for record in records:
        targets = endpoints.get(record["site_id"])
        # An erasure's own record names no consent (its id is gone): nothing to tell a site.
        if not targets or record["consent_id"] == ERASED:
            continue
        body, message_id = event_body(record), new_message_id()
        created = record["recorded_at"].astimezone(UTC)  # the day of retries runs from here
        for endpoint_id in targets:
            values = (endpoint_id, record["site_id"], record["sequence"], record["consent_id"])
            rows.append(sql.row((*values, message_id, body, 0, created, now)))
    if rows:
        cursor.executemany(sql.insert, rows)
    return len(rows)

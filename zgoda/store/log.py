"""Append to and read from the consent log. Rows are inserted, never updated."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from zgoda.store.tables import consent_events


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
    """Insert one event in its own transaction; returns its id once committed."""
    with engine.begin() as connection:
        result = connection.execute(consent_events.insert().values(**asdict(event)))
        primary_key = result.inserted_primary_key
        assert primary_key is not None
        return int(primary_key[0])


def events_for(engine: Engine, site_id: str, consent_id: str) -> list[ConsentEvent]:
    """The history of one consent id, oldest first."""
    query = (
        select(consent_events)
        .where(consent_events.c.site_id == site_id, consent_events.c.consent_id == consent_id)
        .order_by(consent_events.c.id)
    )
    with engine.connect() as connection:
        return [_event(row._mapping) for row in connection.execute(query)]


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
    values.pop("id")
    for column in ("recorded_at", "expires_at"):
        # SQLite keeps no time zone; every time we store is UTC.
        if values[column].tzinfo is None:
            values[column] = values[column].replace(tzinfo=UTC)
    return ConsentEvent(**values)

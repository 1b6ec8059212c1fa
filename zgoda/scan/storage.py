"""Scans kept per site with their time: the latest one and the history, for the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import desc, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from zgoda.errors import StorageError
from zgoda.scan.findings import ScanFinding, tally
from zgoda.scan.observations import ScanRun
from zgoda.store.tables import scans

HISTORY_LENGTH = 20


@dataclass(frozen=True)
class StoredScan:
    """A scan as kept: when, what URL, the counts, and (for the latest) the whole result."""

    scan_id: int
    site_id: str
    url: str
    notice_version: str
    started_at: datetime
    finished_at: datetime
    counts: dict[str, int]
    run: ScanRun | None = None
    findings: tuple[ScanFinding, ...] = ()


def save_scan(
    engine: Engine, site_id: str, notice_version: str, run: ScanRun, findings: list[ScanFinding]
) -> int:
    """Store a scan and its findings; the new row's id."""
    counts = tally(findings)
    row = {
        "site_id": site_id,
        "url": run.url,
        "notice_version": notice_version,
        "started_at": datetime.fromtimestamp(run.started_at, UTC),
        "finished_at": datetime.fromtimestamp(run.finished_at, UTC),
        "errors": counts["error"],
        "warnings": counts["warning"],
        "infos": counts["info"],
        "result": {"run": run.as_dict(), "findings": [f.as_dict() for f in findings]},
    }
    try:
        with engine.begin() as connection:
            result = connection.execute(insert(scans).values(**row))
            key = result.inserted_primary_key
            assert key is not None  # an insert of one row always has its key
            return int(key[0])
    except (OperationalError, ProgrammingError) as error:
        raise StorageError(
            f"the scan could not be stored ({type(error).__name__}); "
            "is the database at the newest migration? run `flask db upgrade`"
        ) from error


def _stored(row: Any, full: bool) -> StoredScan:
    result = row.result if full else None
    return StoredScan(
        scan_id=row.id,
        site_id=row.site_id,
        url=row.url,
        notice_version=row.notice_version,
        started_at=_aware(row.started_at),
        finished_at=_aware(row.finished_at),
        counts={"error": row.errors, "warning": row.warnings, "info": row.infos},
        run=ScanRun.from_dict(result["run"]) if result else None,
        findings=tuple(ScanFinding.from_dict(f) for f in result["findings"]) if result else (),
    )


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def scan_history(engine: Engine, site_id: str, limit: int = HISTORY_LENGTH) -> list[StoredScan]:
    """The site's scans, newest first; the newest with its whole result."""
    columns = [c for c in scans.c if c.name != "result"]
    query = (
        select(*columns)
        .where(scans.c.site_id == site_id)
        .order_by(desc(scans.c.started_at), desc(scans.c.id))
        .limit(limit)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
        if not rows:
            return []
        latest = connection.execute(select(scans).where(scans.c.id == rows[0].id)).one()
    return [_stored(latest, full=True)] + [_stored(row, full=False) for row in rows[1:]]

"""Reference implementations the package's fast paths are checked against.

Each is the plain, slow way to do what the package does quickly: the chain's hashes as
they were first written (stored logs depend on them), records read through SQLAlchemy as
dicts, the chain checked record by record, and export files written and read with
csv.writer and json.dumps. Only tests use them, so they live here and not in `zgoda/`.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from zgoda.export.format import (
    BOOLEANS,
    GZIP_MAGIC,
    LEADING,
    NDJSON_FIELDS,
    OTHER_CHOICES,
    PURPOSE_PREFIX,
    TRAILING,
    batches,
    csv_header,
)
from zgoda.export.stream import sequence_range
from zgoda.store.tables import consent_events
from zgoda.store.verify import CONTENT_CHANGED, PERSONAL_CHANGED, ChainReport

# --- the chain's hashes ----------------------------------------------------------------------

# What a record's hash covers, besides the previous hash and the personal hash.
HASHED_FIELDS = (
    "site_id",
    "sequence",
    "recorded_at",
    "notice_version",
    "content_hash",
    "locale",
    "action",
    "choices",
    "source",
    "gpc",
    "expires_at",
)
PERSONAL_FIELDS = ("consent_id", "user_agent_family", "ip_prefix")


def reference_time(value: datetime | str) -> str:
    """A time in UTC with microseconds and a Z, spelled by strftime."""
    moment = (
        datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def reference_digest(data: Any) -> str:
    """SHA-256 of `data` as canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def reference_personal_hash(record: Mapping[str, Any]) -> str:
    """`chain.personal_hash`, as first written."""
    return reference_digest({field: record[field] for field in PERSONAL_FIELDS})


def reference_link_hash(prev_hash: Any, record: Mapping[str, Any]) -> str:
    """`chain.link_hash`, as first written."""
    content = {field: record[field] for field in HASHED_FIELDS}
    for field in ("recorded_at", "expires_at"):
        content[field] = reference_time(content[field])
    # Since migration 0004 a record may say when the visitor chose; only then is it covered.
    if record.get("chosen_at") is not None:
        content["chosen_at"] = reference_time(record["chosen_at"])
    content["choices"] = {str(k): bool(v) for k, v in dict(content["choices"]).items()}
    content["gpc"] = bool(content["gpc"])
    content["sequence"] = int(content["sequence"])
    return reference_digest([prev_hash, content, record["personal_hash"]])


# --- records read as dicts -------------------------------------------------------------------


def chain_rows(
    connection: Connection, site_id: str, first: int | None = None, last: int | None = None
) -> Generator[dict[str, Any]]:
    """The site's records (sequences `first` to `last`) in chain order, as dicts through
    SQLAlchemy's column types, with an `erased` flag: what `parts.record_parts` reads."""
    query = select(consent_events).where(consent_events.c.site_id == site_id)
    if first is not None:
        query = query.where(consent_events.c.sequence >= first)
    if last is not None:
        query = query.where(consent_events.c.sequence <= last)
    query = query.order_by(consent_events.c.sequence)
    result = connection.execution_options(stream_results=True, yield_per=2000).execute(query)
    try:
        for row in result.mappings():
            record = dict(row)
            record["erased"] = record["erased_at"] is not None
            yield record
    finally:
        result.close()


def export_rows(
    connection: Connection,
    site_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """The records `stream.export_chunks` exports, as dicts."""
    bounds = sequence_range(connection, site_id, start, end)
    if bounds is not None:
        yield from chain_rows(connection, site_id, *bounds)


# --- the chain checked record by record ------------------------------------------------------


def verify_records(
    records: Iterable[Mapping[str, Any]],
    anchor_hash: str | None = None,
    anchor_sequence: int | None = None,
) -> ChainReport:
    """`verify.verify_parts` for records as dicts, with the reference hashes."""
    expected_prev, expected_sequence = anchor_hash, anchor_sequence
    checked, first, last = 0, None, None
    for record in records:
        sequence = int(record["sequence"])
        if first is None:
            first = sequence
        problem = _problem(record, sequence, expected_prev, expected_sequence)
        if problem is not None:
            return ChainReport(checked, first, last, broken_at=sequence, problem=problem)
        expected_prev = last = record["record_hash"]
        expected_sequence = sequence
        checked += 1
    return ChainReport(checked, first, last)


def _problem(
    record: Mapping[str, Any],
    sequence: int,
    expected_prev: str | None,
    expected_sequence: int | None,
) -> str | None:
    if expected_sequence is not None and sequence != expected_sequence + 1:
        what = "missing (deleted)" if sequence > expected_sequence + 1 else "out of order"
        return f"record {expected_sequence + 1} is {what}; found {sequence}"
    if expected_prev is not None and record["prev_hash"] != expected_prev:
        return "prev_hash does not match the previous record's hash"
    if not record.get("erased") and reference_personal_hash(record) != record["personal_hash"]:
        return PERSONAL_CHANGED
    if reference_link_hash(record["prev_hash"], record) != record["record_hash"]:
        return CONTENT_CHANGED
    return None


# --- export files written and read with csv and json -----------------------------------------


def _flag(value: Any) -> str:
    return "true" if value else "false"


def csv_row(record: Mapping[str, Any], purposes: Sequence[str]) -> list[str]:
    """One record as CSV cells; a purpose the record does not mention stays an empty cell."""
    choices: Mapping[str, Any] = record["choices"]
    cells = [_flag(choices[p]) if p in choices else "" for p in purposes]
    other = {k: bool(v) for k, v in choices.items() if k not in purposes}
    return [
        str(record["sequence"]),
        reference_time(record["recorded_at"]),
        record["site_id"],
        record["consent_id"],
        record["notice_version"],
        record["content_hash"],
        record["locale"],
        record["action"],
        record["source"],
        _flag(record["gpc"]),
        record["user_agent_family"],
        record["ip_prefix"] or "",
        reference_time(record["expires_at"]),
        "" if record["chosen_at"] is None else reference_time(record["chosen_at"]),
        *cells,
        json.dumps(other, sort_keys=True, ensure_ascii=False) if other else "",
        _flag(record["erased"]),
        record["personal_hash"],
        record["prev_hash"],
        record["record_hash"],
    ]


def ndjson_line(record: Mapping[str, Any]) -> str:
    """One record as a JSON object on one line, times in UTC ISO 8601."""
    values = {field: record[field] for field in NDJSON_FIELDS}
    values["recorded_at"] = reference_time(values["recorded_at"])
    values["expires_at"] = reference_time(values["expires_at"])
    if values["chosen_at"] is not None:
        values["chosen_at"] = reference_time(values["chosen_at"])
    values["erased"] = bool(values["erased"])
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")) + "\n"


def csv_chunks(
    records: Iterable[Mapping[str, Any]],
    purposes: Sequence[str],
    progress: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """The CSV text of `records` by csv.writer: a header, then one chunk per batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(csv_header(purposes))
    for batch in batches(records):
        writer.writerows(csv_row(record, purposes) for record in batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if progress is not None:
            progress(len(batch))
    if buffer.tell():
        yield buffer.getvalue()  # the header of an empty export


def ndjson_chunks(
    records: Iterable[Mapping[str, Any]], progress: Callable[[int], None] | None = None
) -> Iterator[str]:
    """The NDJSON text of `records` by json.dumps, one chunk per batch."""
    for batch in batches(records):
        yield "".join(ndjson_line(record) for record in batch)
        if progress is not None:
            progress(len(batch))


def export_records(path: Path) -> list[dict[str, Any]]:
    """Every record of an export file (CSV or NDJSON, plain or gzip) as a dict."""
    data = path.read_bytes()
    if data[:2] == GZIP_MAGIC:
        data = gzip.decompress(data)
    text = data.decode("utf-8")
    if path.suffix in (".ndjson", ".jsonl") or text.lstrip().startswith("{"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        return []
    columns = {name: index for index, name in enumerate(rows[0])}
    purposes = [
        (name.removeprefix(PURPOSE_PREFIX), index)
        for name, index in columns.items()
        if name.startswith(PURPOSE_PREFIX)
    ]
    return [_record_from_csv(cells, columns, purposes) for cells in rows[1:]]


def _record_from_csv(
    cells: list[str], columns: Mapping[str, int], purposes: Sequence[tuple[str, int]]
) -> dict[str, Any]:
    record: dict[str, Any] = {name: cells[columns[name]] for name in (*LEADING, *TRAILING)}
    choices = {purpose: BOOLEANS[cells[index]] for purpose, index in purposes if cells[index]}
    if other := cells[columns[OTHER_CHOICES]]:
        choices |= json.loads(other)
    record["choices"] = choices
    record["gpc"] = BOOLEANS[record["gpc"]]
    record["erased"] = BOOLEANS[record["erased"]]
    record["ip_prefix"] = record["ip_prefix"] or None
    record["chosen_at"] = record["chosen_at"] or None
    return record

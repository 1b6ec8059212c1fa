"""Consent-log exports: records to CSV or NDJSON as a stream, and export files back to records.

An export carries every hashed field and the chain hashes, so `flask consents verify FILE`
can rebuild each record exactly and check the chain offline.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy import Connection, Engine, func, select

from zgoda.store.chain import canonical_time
from zgoda.store.tables import consent_events

Format = Literal["csv", "ndjson"]
FORMATS: tuple[Format, ...] = ("csv", "ndjson")
MEDIA_TYPES: dict[Format, str] = {"csv": "text/csv", "ndjson": "application/x-ndjson"}

LEADING = (
    "sequence",
    "recorded_at",
    "site_id",
    "consent_id",
    "notice_version",
    "content_hash",
    "locale",
    "action",
    "source",
    "gpc",
    "user_agent_family",
    "ip_prefix",
    "expires_at",
)
PURPOSE_PREFIX = "purpose:"
OTHER_CHOICES = "other_choices"
TRAILING = ("erased", "personal_hash", "prev_hash", "record_hash")
NDJSON_FIELDS = (*LEADING, "choices", *TRAILING)
# Records per chunk: large enough to amortise the writer, small enough to stay in constant memory.
BATCH = 1000
BOOLEANS = {"true": True, "false": False}
GZIP_MAGIC = b"\x1f\x8b"


def _flag(value: Any) -> str:
    return "true" if value else "false"


def csv_header(purposes: Sequence[str]) -> list[str]:
    """The CSV columns: fixed fields, one per notice purpose, other choices, chain hashes."""
    return [*LEADING, *(PURPOSE_PREFIX + p for p in purposes), OTHER_CHOICES, *TRAILING]


def csv_row(record: Mapping[str, Any], purposes: Sequence[str]) -> list[str]:
    """One record as CSV cells; a purpose the record does not mention stays an empty cell."""
    choices: Mapping[str, Any] = record["choices"]
    # The chain hash covers the exact choices, so "absent" must differ from "false".
    cells = [_flag(choices[p]) if p in choices else "" for p in purposes]
    other = {k: bool(v) for k, v in choices.items() if k not in purposes}
    return [
        str(record["sequence"]),
        canonical_time(record["recorded_at"]),
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
        canonical_time(record["expires_at"]),
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
    values["recorded_at"] = canonical_time(values["recorded_at"])
    values["expires_at"] = canonical_time(values["expires_at"])
    values["erased"] = bool(values["erased"])
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")) + "\n"


def _batches(records: Iterable[Mapping[str, Any]]) -> Iterator[list[Mapping[str, Any]]]:
    iterator = iter(records)
    while batch := list(islice(iterator, BATCH)):
        yield batch


def csv_chunks(
    records: Iterable[Mapping[str, Any]],
    purposes: Sequence[str],
    progress: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """The CSV text of `records`, a header then one chunk per batch of records."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180: CRLF line ends, quotes only where needed
    writer.writerow(csv_header(purposes))
    for batch in _batches(records):
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
    """The NDJSON text of `records`, one chunk per batch of records."""
    for batch in _batches(records):
        yield "".join(ndjson_line(record) for record in batch)
        if progress is not None:
            progress(len(batch))


def sequence_range(
    connection: Connection, site_id: str, start: datetime | None, end: datetime | None
) -> tuple[int, int] | None:
    """The first and last sequence recorded in [start, end), or None when none was."""
    query = select(func.min(consent_events.c.sequence), func.max(consent_events.c.sequence))
    query = query.where(consent_events.c.site_id == site_id)
    if start is not None:
        query = query.where(consent_events.c.recorded_at >= start)
    if end is not None:
        query = query.where(consent_events.c.recorded_at < end)
    first, last = connection.execute(query).one()
    return None if first is None else (int(first), int(last))


def export_rows(
    connection: Connection,
    site_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """The site's records from `start` to `end`, streamed in chain order.

    The range is taken in sequence numbers, not times: concurrent writers may record a
    few microseconds out of order, and a gap at the edges would look like a deletion.
    """
    bounds = sequence_range(connection, site_id, start, end)
    if bounds is None:
        return
    query = (
        select(consent_events)
        .where(
            consent_events.c.site_id == site_id,
            consent_events.c.sequence.between(*bounds),
        )
        .order_by(consent_events.c.sequence)
    )
    options = {"stream_results": True, "yield_per": 2000}
    result = connection.execution_options(**options).execute(query)
    try:
        for row in result.mappings():
            record = dict(row)
            record["erased"] = record["erased_at"] is not None
            yield record
    finally:
        result.close()  # a client that hangs up must not leave a server-side cursor open


def export_chunks(
    engine: Engine,
    site_id: str,
    fmt: Format,
    purposes: Sequence[str],
    start: datetime | None = None,
    end: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """The whole export as text chunks; the connection lives as long as the stream."""
    with engine.connect() as connection:
        records = export_rows(connection, site_id, start, end)
        if fmt == "csv":
            yield from csv_chunks(records, purposes, progress)
        else:
            yield from ndjson_chunks(records, progress)


def gzip_chunks(chunks: Iterable[str], level: int = 6) -> Iterator[bytes]:
    """UTF-8 encode and gzip a text stream chunk by chunk (constant memory)."""
    compressor = zlib.compressobj(level, wbits=31)  # 31: with a gzip header and trailer
    for chunk in chunks:
        if compressed := compressor.compress(chunk.encode("utf-8")):
            yield compressed
    yield compressor.flush()


def parse_moment(value: str, end: bool = False) -> datetime:
    """An ISO 8601 date or time as UTC (naive means UTC); a date as `end` includes that day."""
    text = value.strip().upper()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time(), UTC)
            return moment + timedelta(days=1) if end else moment
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except OverflowError as error:
        raise ValueError(f"{value!r} is out of range") from error
    except ValueError as error:
        raise ValueError(
            f"{value!r} is not an ISO 8601 date or time (2026-01-31 or 2026-01-31T12:00:00Z)"
        ) from error


# --- reading an export back ------------------------------------------------------------------


class MalformedExport(ValueError):
    """A line of an export file that cannot be read as a record."""


class ExportReader:
    """The records of an export file (CSV or NDJSON, plain or gzip) in file order.

    `line` is the line the record last yielded starts on, so a caller that stops at a
    broken record can name it.
    """

    def __init__(self, path: Path):
        self.path = path
        self.line = 0
        with path.open("rb") as raw:
            self.compressed = raw.read(2) == GZIP_MAGIC
        self.format = self._detect_format()

    def _open(self) -> IO[str]:
        if self.compressed:
            return gzip.open(self.path, "rt", encoding="utf-8", newline="")
        return self.path.open(encoding="utf-8", newline="")

    def _detect_format(self) -> Format:
        suffixes = [s.lower() for s in self.path.suffixes if s.lower() != ".gz"]
        if suffixes and suffixes[-1] == ".csv":
            return "csv"
        if suffixes and suffixes[-1] in (".ndjson", ".jsonl"):
            return "ndjson"
        with self._open() as stream:
            start = stream.read(64).lstrip()
        return "ndjson" if start.startswith("{") else "csv"

    def __iter__(self) -> Iterator[dict[str, Any]]:
        with self._open() as stream:
            yield from self._csv(stream) if self.format == "csv" else self._ndjson(stream)

    def _csv(self, stream: IO[str]) -> Iterator[dict[str, Any]]:
        reader = csv.reader(stream)
        header = next(reader, None)
        if header is None:
            return
        missing = [c for c in (*LEADING, OTHER_CHOICES, *TRAILING) if c not in header]
        if missing:
            self.line = 1
            raise MalformedExport(f"the header lacks the columns: {', '.join(missing)}")
        columns = {name: index for index, name in enumerate(header)}
        purposes = [
            (name.removeprefix(PURPOSE_PREFIX), index)
            for index, name in enumerate(header)
            if name.startswith(PURPOSE_PREFIX)
        ]
        line = reader.line_num + 1
        for cells in reader:
            self.line, line = line, reader.line_num + 1
            if len(cells) != len(header):
                raise MalformedExport(f"{len(cells)} cells where the header has {len(header)}")
            yield record_from_csv(cells, columns, purposes)

    def _ndjson(self, stream: IO[str]) -> Iterator[dict[str, Any]]:
        for number, text in enumerate(stream, 1):
            self.line = number
            if not text.strip():
                continue
            try:
                values = json.loads(text)
            except json.JSONDecodeError as error:
                raise MalformedExport(f"not JSON: {error.msg}") from error
            yield record_from_json(values)


def _boolean(text: str, column: str) -> bool:
    try:
        return BOOLEANS[text]
    except KeyError:
        raise MalformedExport(f"{column} is {text!r}, not true or false") from None


def record_from_csv(
    cells: list[str], columns: Mapping[str, int], purposes: Sequence[tuple[str, int]]
) -> dict[str, Any]:
    """Rebuild one record from its CSV cells, exactly as its hash was computed."""
    record: dict[str, Any] = {name: cells[columns[name]] for name in (*LEADING, *TRAILING)}
    choices = {p: _boolean(cells[i], PURPOSE_PREFIX + p) for p, i in purposes if cells[i]}
    if other := cells[columns[OTHER_CHOICES]]:
        try:
            extra = json.loads(other)
        except json.JSONDecodeError as error:
            raise MalformedExport(f"{OTHER_CHOICES} is not JSON: {error.msg}") from error
        if not isinstance(extra, dict) or set(extra) & set(choices):
            raise MalformedExport(f"{OTHER_CHOICES} must be an object of other purposes")
        choices |= extra
    record["choices"] = choices
    record["gpc"] = _boolean(record["gpc"], "gpc")
    record["erased"] = _boolean(record["erased"], "erased")
    record["ip_prefix"] = record["ip_prefix"] or None
    return record


def record_from_json(values: Any) -> dict[str, Any]:
    """Check one NDJSON object has every field of a record, with the right types."""
    if not isinstance(values, dict):
        raise MalformedExport("not a JSON object")
    missing = [field for field in NDJSON_FIELDS if field not in values]
    if missing:
        raise MalformedExport(f"missing fields: {', '.join(missing)}")
    if not isinstance(values["choices"], dict):
        raise MalformedExport("choices is not an object")
    return values

"""The export file format: its columns, a record spelled as a CSV row or an NDJSON line, gzip.

An export carries every hashed field and the chain hashes, so `flask consents verify FILE`
can rebuild each record exactly and check the chain offline.
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Any, Literal, TypeVar

from zgoda.store.chain import canonical_time

T = TypeVar("T")
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
# Distinct choices remembered while reading or writing one export; a log holds few.
CHOICES_MEMO = 4096
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


def batches(records: Iterable[T]) -> Iterator[list[T]]:
    """`records` in lists of BATCH (the last one shorter)."""
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
    """The NDJSON text of `records`, one chunk per batch of records."""
    for batch in batches(records):
        yield "".join(ndjson_line(record) for record in batch)
        if progress is not None:
            progress(len(batch))


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

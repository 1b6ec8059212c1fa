"""The export file format: its columns and fields, the choice cells, batches of records, gzip.

An export carries every hashed field and the chain hashes, so `flask consents verify FILE`
can rebuild each record exactly and check the chain offline.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Any, Literal, TypeVar

T = TypeVar("T")
Format = Literal["csv", "ndjson"]
FORMATS: tuple[Format, ...] = ("csv", "ndjson")
MEDIA_TYPES: dict[Format, str] = {"csv": "text/csv", "ndjson": "application/x-ndjson"}

# A record's parts (chain.RecordParts) in the file's order: CSV columns before the choice
# columns (purposes and services), and after them; an NDJSON object's fields.
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
    "chosen_at",  # since migration 0004; empty (CSV) or null (NDJSON) in older records
)
# Fields an export written before migration 0004 lacks: read as empty (None) there.
OPTIONAL_FIELDS = frozenset({"chosen_at"})
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


def csv_header(purposes: Sequence[str]) -> list[str]:
    """The CSV columns: fixed fields, one per choice key of the notice (each purpose, then
    its services' `<purpose>.<service>` keys), other choices, chain hashes."""
    return [*LEADING, *(PURPOSE_PREFIX + p for p in purposes), OTHER_CHOICES, *TRAILING]


def choice_cells(choices: Mapping[str, Any], purposes: Sequence[str]) -> list[str]:
    """A record's choices as CSV cells: one per purpose (empty where the record does not
    mention it), then the choices of other purposes as JSON (empty if there are none)."""
    # The chain hash covers the exact choices, so "absent" must differ from "false".
    cells = ["" if p not in choices else "true" if choices[p] else "false" for p in purposes]
    other = {k: bool(v) for k, v in choices.items() if k not in purposes}
    cells.append(json.dumps(other, sort_keys=True, ensure_ascii=False) if other else "")
    return cells


def batches(records: Iterable[T]) -> Iterator[list[T]]:
    """`records` in lists of BATCH (the last one shorter)."""
    iterator = iter(records)
    while batch := list(islice(iterator, BATCH)):
        yield batch


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

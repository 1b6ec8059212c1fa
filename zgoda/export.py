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
from contextlib import closing
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, Literal, TypeVar

from sqlalchemy import Connection, Engine, func, select

from zgoda.store.audit import record_parts
from zgoda.store.chain import PARTS, canonical_choices, canonical_time
from zgoda.store.tables import consent_events

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
# Characters an export file is decoded by at a time (TextIOWrapper's default is 8192, and
# each of its reads from a gzip stream costs a round through GzipFile's Python code).
READ_CHUNK = 1 << 18


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


def _batches(records: Iterable[T]) -> Iterator[list[T]]:
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
    """The whole export as text chunks; the connection lives as long as the stream.

    The same text as `csv_chunks` / `ndjson_chunks` over `export_rows`, made from the
    records' canonical parts (`record_parts`) without a dict per record.
    """
    with engine.connect() as connection:
        bounds = sequence_range(connection, site_id, start, end)
        if fmt == "csv":
            if bounds is None:
                yield from csv_chunks((), purposes, progress)
                return
            cells = partial(_choice_cells, list(purposes))
            parts = record_parts(connection, site_id, cells, *bounds)
            with closing(parts):
                yield from _csv_part_chunks(parts, purposes, progress)
        elif bounds is not None:
            parts = record_parts(connection, site_id, _ndjson_choices, *bounds)
            with closing(parts):
                yield from _ndjson_part_chunks(parts, progress)


class _Cells(tuple[str, int, int, int, int]):
    """The CSV text of a record's choice cells, and how many `,`, `"`, CR and LF it holds."""


def _choice_cells(purposes: list[str], text: str) -> _Cells:
    """The purpose cells and the other-choices cell of a stored choices JSON text, as CSV."""
    cells = csv_row({**_EMPTY_RECORD, "choices": json.loads(text)}, purposes)
    middle = cells[len(LEADING) : len(cells) - len(TRAILING)]
    # Between two other cells, as csv.writer spells them inside a row.
    line = _csv_line(["x", *middle, "x"])
    fragment = line[2:-4]  # "x," ... ",x\r\n"
    counts = (fragment.count(c) for c in ',"\r\n')
    return _Cells((fragment, *counts))


def _csv_line(cells: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()


# A record for `csv_row` to spell the choice cells of (only its choices matter).
_EMPTY_RECORD: dict[str, Any] = dict.fromkeys((*LEADING, *TRAILING), "")
_EMPTY_RECORD |= {"recorded_at": "2000-01-01T00:00:00.000000Z", "sequence": 0}
_EMPTY_RECORD["expires_at"] = _EMPTY_RECORD["recorded_at"]
# The commas between the cells of a row, besides those of the choice cells.
_CSV_COMMAS = len(LEADING) + len(TRAILING)


def _csv_part_chunks(
    parts: Iterable[tuple[Any, ...]],
    purposes: Sequence[str],
    progress: Callable[[int], None] | None,
) -> Iterator[str]:
    """`csv_chunks` for `record_parts` whose choices are `_choice_cells`.

    csv.writer costs more than the rest of an export together, so each line is spelled
    directly; a line whose cells hold a comma, quote or line break (counted beyond those
    of its choice cells), or maybe a None, is spelled again by csv.writer.
    """
    yield _csv_line(csv_header(purposes))
    for batch in _batches(parts):
        lines = []
        for (
            sequence,
            site_id,
            recorded_at,
            notice_version,
            content_hash,
            locale,
            action,
            cells,
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
        ) in batch:
            choices, commas, quotes, crs, lfs = cells
            line = (
                f"{sequence},{recorded_at},{site_id},{consent_id},{notice_version},"
                f"{content_hash},{locale},{action},{source},{'true' if gpc else 'false'},"
                f"{user_agent_family},{ip_prefix or ''},{expires_at},{choices},"
                f"{'true' if erased else 'false'},{personal_hash},{prev_hash},{record_hash}\r\n"
            )
            if (
                line.count(",") != _CSV_COMMAS + commas
                or line.count('"') != quotes
                or line.count("\r") != 1 + crs
                or line.count("\n") != 1 + lfs
                or "None" in line  # csv.writer spells None as an empty cell
            ):
                line = (
                    _csv_line(
                        [
                            sequence,
                            recorded_at,
                            site_id,
                            consent_id,
                            notice_version,
                            content_hash,
                            locale,
                            action,
                            source,
                            "true" if gpc else "false",
                            user_agent_family,
                            ip_prefix or "",
                            expires_at,
                        ]
                    )[:-2]
                    + f",{choices},"
                )
                line += _csv_line(
                    ["true" if erased else "false", personal_hash, prev_hash, record_hash]
                )
            lines.append(line)
        yield "".join(lines)
        if progress is not None:
            progress(len(batch))


def _ndjson_choices(text: str) -> str:
    """The NDJSON spelling of a stored choices JSON text."""
    return _compact_json(json.loads(text))


_compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_json_string = json.encoder.encode_basestring  # what _compact_json spells a str with


def _ndjson_part_chunks(
    parts: Iterable[tuple[Any, ...]], progress: Callable[[int], None] | None
) -> Iterator[str]:
    """`ndjson_chunks` for `record_parts` whose choices are `_ndjson_choices`."""
    for batch in _batches(parts):
        yield "".join([_ndjson_part_line(part) for part in batch])
        if progress is not None:
            progress(len(batch))


def _ndjson_part_line(part: tuple[Any, ...]) -> str:
    """`ndjson_line` of one record's parts."""
    (
        sequence,
        site_id,
        recorded_at,
        notice_version,
        content_hash,
        locale,
        action,
        choices,
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
    ) = part
    q = _json_string
    try:
        if type(sequence) is not int:
            raise TypeError(sequence)
        return (
            f'{{"sequence":{sequence},"recorded_at":"{recorded_at}","site_id":{q(site_id)},'
            f'"consent_id":{q(consent_id)},"notice_version":{q(notice_version)},'
            f'"content_hash":{q(content_hash)},"locale":{q(locale)},"action":{q(action)},'
            f'"source":{q(source)},"gpc":{"true" if gpc else "false"},'
            f'"user_agent_family":{q(user_agent_family)},'
            f'"ip_prefix":{"null" if ip_prefix is None else q(ip_prefix)},'
            f'"expires_at":"{expires_at}","choices":{choices},'
            f'"erased":{"true" if erased else "false"},"personal_hash":{q(personal_hash)},'
            f'"prev_hash":{q(prev_hash)},"record_hash":{q(record_hash)}}}\n'
        )
    except TypeError:  # a value of an unusual type: the generic encoder
        record = dict(zip(PARTS, part, strict=True))
        record["choices"] = json.loads(choices)
        record["gpc"] = None if gpc is None else bool(gpc)
        return ndjson_line(record)


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
            stream = gzip.open(self.path, "rt", encoding="utf-8", newline="")
        else:
            stream = self.path.open(encoding="utf-8", newline="")
        if isinstance(stream, io.TextIOWrapper):
            stream._CHUNK_SIZE = READ_CHUNK  # type: ignore[attr-defined]
        return stream

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
        # record_from_csv, with the cells picked in C and the choices of each distinct set
        # of choice cells built once (a log holds few).
        fields = (*LEADING, *TRAILING)
        pick = itemgetter(*(columns[name] for name in fields))
        pick_choices = itemgetter(columns[OTHER_CHOICES], *(index for _, index in purposes))
        memo: dict[Any, dict[str, Any]] = {}
        width = len(header)
        line = reader.line_num + 1
        for cells in reader:
            self.line, line = line, reader.line_num + 1
            if len(cells) != width:
                raise MalformedExport(f"{len(cells)} cells where the header has {width}")
            record = dict(zip(fields, pick(cells), strict=True))
            key = pick_choices(cells)
            choices = memo.get(key)
            if choices is None:
                choices = _csv_choices(cells, columns, purposes)
                if len(memo) < CHOICES_MEMO:
                    memo[key] = choices
            record["choices"] = dict(choices)  # each record its own, as record_from_csv
            try:
                record["gpc"] = BOOLEANS[record["gpc"]]
                record["erased"] = BOOLEANS[record["erased"]]
            except KeyError:
                record["gpc"] = _boolean(record["gpc"], "gpc")
                record["erased"] = _boolean(record["erased"], "erased")
            record["ip_prefix"] = record["ip_prefix"] or None
            yield record

    def parts(self) -> Iterator[tuple[Any, ...]]:
        """The records as tuples in `chain.PARTS` order, for `verify_parts(spell_times=True)`:
        `sequence` an int, the times as written, the choices canonical (`canonical_choices`).

        The same records as iterating the reader, failing at the same line with the same
        errors, but without a dict per record.
        """
        with self._open() as stream:
            if self.format == "csv":
                yield from self._csv_parts(stream)
            else:
                for record in self._ndjson(stream):
                    yield record_parts_of(record)

    def _csv_parts(self, stream: IO[str]) -> Iterator[tuple[Any, ...]]:
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
        # In PARTS order; the other-choices cell stands in for the choices.
        pick = itemgetter(
            *(columns[OTHER_CHOICES if name == "choices" else name] for name in PARTS)
        )
        pick_choices = itemgetter(columns[OTHER_CHOICES], *(index for _, index in purposes))
        memo: dict[Any, str] = {}
        width = len(header)
        flags = BOOLEANS
        line = reader.line_num + 1
        for cells in reader:
            self.line, line = line, reader.line_num + 1
            if len(cells) != width:
                raise MalformedExport(f"{len(cells)} cells where the header has {width}")
            (
                sequence,
                site_id,
                recorded_at,
                notice_version,
                content_hash,
                locale,
                action,
                _,
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
            ) = pick(cells)
            key = pick_choices(cells)
            choices = memo.get(key)
            if choices is None:  # in record_from_csv's order: choices, gpc, erased
                choices = canonical_choices(_csv_choices(cells, columns, purposes))
                if len(memo) < CHOICES_MEMO:
                    memo[key] = choices
            if gpc not in flags or erased not in flags:
                _boolean(gpc, "gpc")
                _boolean(erased, "erased")
            yield (
                int(sequence),
                site_id,
                recorded_at,
                notice_version,
                content_hash,
                locale,
                action,
                choices,
                source,
                flags[gpc],
                expires_at,
                consent_id,
                user_agent_family,
                ip_prefix or None,
                flags[erased],
                personal_hash,
                prev_hash,
                record_hash,
            )

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
    record["choices"] = _csv_choices(cells, columns, purposes)
    record["gpc"] = _boolean(record["gpc"], "gpc")
    record["erased"] = _boolean(record["erased"], "erased")
    record["ip_prefix"] = record["ip_prefix"] or None
    return record


def _csv_choices(
    cells: list[str], columns: Mapping[str, int], purposes: Sequence[tuple[str, int]]
) -> dict[str, Any]:
    """A record's choices from its purpose cells and other-choices cell."""
    choices = {p: _boolean(cells[i], PURPOSE_PREFIX + p) for p, i in purposes if cells[i]}
    if other := cells[columns[OTHER_CHOICES]]:
        try:
            extra = json.loads(other)
        except json.JSONDecodeError as error:
            raise MalformedExport(f"{OTHER_CHOICES} is not JSON: {error.msg}") from error
        if not isinstance(extra, dict) or set(extra) & set(choices):
            raise MalformedExport(f"{OTHER_CHOICES} must be an object of other purposes")
        choices |= extra
    return choices


def record_parts_of(record: Mapping[str, Any]) -> tuple[Any, ...]:
    """A record (a dict as the reader yields) as a tuple in `chain.PARTS` order, for
    `verify_parts(spell_times=True)`."""
    values = [record[name] for name in PARTS]
    values[0] = int(values[0])  # as verify_records takes the sequence
    values[PARTS.index("choices")] = canonical_choices(values[PARTS.index("choices")])
    return tuple(values)


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

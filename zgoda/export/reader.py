"""Reading an export file (CSV or NDJSON, plain or gzip) back into `RecordParts`."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from zgoda.export.format import (
    BOOLEANS,
    CHOICES_MEMO,
    GZIP_MAGIC,
    LEADING,
    NDJSON_FIELDS,
    OPTIONAL_FIELDS,
    OTHER_CHOICES,
    PURPOSE_PREFIX,
    TRAILING,
    Format,
)
from zgoda.store.chain import PARTS, RecordParts, canonical_choices

# Characters an export file is decoded by at a time (TextIOWrapper's default is 8192, and
# each of its reads from a gzip stream costs a round through GzipFile's Python code).
READ_CHUNK = 1 << 18
# Where the parts read from CSV text stand in a record's tuple.
SEQUENCE_PART, CHOICES_PART, GPC_PART, NETWORK_PART, ERASED_PART, CHOSEN_PART = (
    PARTS.index(name) for name in ("sequence", "choices", "gpc", "ip_prefix", "erased", "chosen_at")
)


class MalformedExport(ValueError):
    """A line of an export file that cannot be read as a record."""


class ExportReader:
    """The records of an export file (CSV or NDJSON, plain or gzip) in file order.

    `line` is the line the record last read starts on, so a caller that stops at a
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

    def _csv_layout(
        self, reader: Iterator[list[str]]
    ) -> tuple[int, dict[str, int], list[tuple[str, int]]] | None:
        """From the header: its width, each column's index and the purpose columns.

        An optional column the header lacks (an older export) is given the index just past
        the row, where `_csv_parts` puts an empty cell.
        """
        header = next(reader, None)
        if header is None:
            return None
        needed = (*LEADING, OTHER_CHOICES, *TRAILING)
        missing = [c for c in needed if c not in header and c not in OPTIONAL_FIELDS]
        if missing:
            self.line = 1
            raise MalformedExport(f"the header lacks the columns: {', '.join(missing)}")
        columns = {name: index for index, name in enumerate(header)}
        for index, name in enumerate(sorted(OPTIONAL_FIELDS - set(header)), len(header)):
            columns[name] = index
        purposes = [
            (name.removeprefix(PURPOSE_PREFIX), index)
            for index, name in enumerate(header)
            if name.startswith(PURPOSE_PREFIX)
        ]
        return len(header), columns, purposes

    def parts(self) -> Iterator[RecordParts[str]]:
        """The records, for `verify_parts(spell_times=True)`: `sequence` an int, the
        choices canonical (`canonical_choices`), a CSV file's flags as bools and its empty
        network as None, the rest as written.

        A record that cannot be read raises `MalformedExport` (or the ValueError of its
        sequence), with `line` on the line it starts on.
        """
        with self._open() as stream:
            if self.format == "csv":
                yield from self._csv_parts(stream)
            else:
                for record in self._ndjson(stream):
                    yield record_parts_of(record)

    def _csv_parts(self, stream: IO[str]) -> Iterator[RecordParts[str]]:
        reader = csv.reader(stream)
        layout = self._csv_layout(reader)
        if layout is None:
            return
        width, columns, purposes = layout
        absent = [""] * (max(columns.values()) + 1 - width)  # cells of optional columns it lacks
        # In PARTS order; the other-choices cell stands in for the choices.
        pick = itemgetter(
            *(columns[OTHER_CHOICES if name == "choices" else name] for name in PARTS)
        )
        pick_choices = itemgetter(columns[OTHER_CHOICES], *(index for _, index in purposes))
        memo: dict[Any, str] = {}
        flags = BOOLEANS
        make = tuple.__new__  # RecordParts._make without its length check: `pick` took them all
        line = reader.line_num + 1
        for cells in reader:
            self.line, line = line, reader.line_num + 1
            if len(cells) != width:
                raise MalformedExport(f"{len(cells)} cells where the header has {width}")
            part = list(pick(cells + absent if absent else cells))
            key = pick_choices(cells)
            choices = memo.get(key)
            if choices is None:  # a bad cell is reported in this order: choices, gpc, erased
                choices = canonical_choices(_csv_choices(cells, columns, purposes))
                if len(memo) < CHOICES_MEMO:
                    memo[key] = choices
            gpc, erased = part[GPC_PART], part[ERASED_PART]
            if gpc not in flags or erased not in flags:
                _boolean(gpc, "gpc")
                _boolean(erased, "erased")
            part[SEQUENCE_PART] = int(part[SEQUENCE_PART])
            part[CHOICES_PART] = choices
            part[GPC_PART] = flags[gpc]
            part[ERASED_PART] = flags[erased]
            part[NETWORK_PART] = part[NETWORK_PART] or None
            part[CHOSEN_PART] = part[CHOSEN_PART] or None
            yield make(RecordParts, part)

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


def record_parts_of(record: Mapping[str, Any]) -> RecordParts[str]:
    """A record as a dict (an NDJSON object) as parts for `verify_parts(spell_times=True)`:
    the sequence an int, the choices canonical, the rest as they are."""
    values: list[Any] = [
        record.get(name) if name in OPTIONAL_FIELDS else record[name] for name in PARTS
    ]
    values[SEQUENCE_PART] = int(values[SEQUENCE_PART])
    values[CHOICES_PART] = canonical_choices(values[CHOICES_PART])
    return RecordParts._make(values)


def record_from_json(values: Any) -> dict[str, Any]:
    """Check one NDJSON object has every field of a record, with the right types."""
    if not isinstance(values, dict):
        raise MalformedExport("not a JSON object")
    missing = [f for f in NDJSON_FIELDS if f not in values and f not in OPTIONAL_FIELDS]
    if missing:
        raise MalformedExport(f"missing fields: {', '.join(missing)}")
    if not isinstance(values["choices"], dict):
        raise MalformedExport("choices is not an object")
    return values

"""Streaming a site's consent log out of the database as export text, in constant memory."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from zgoda.export.format import (
    LEADING,
    NDJSON_FIELDS,
    TRAILING,
    Format,
    batches,
    choice_cells,
    csv_header,
)
from zgoda.store.chain import RecordParts
from zgoda.store.parts import record_parts
from zgoda.store.tables import consent_events


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


def export_chunks(
    engine: Engine,
    site_id: str,
    fmt: Format,
    purposes: Sequence[str],
    start: datetime | None = None,
    end: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """The site's records from `start` to `end` in chain order, as export text chunks.

    The connection lives as long as the stream. The range is taken in sequence numbers,
    not times: concurrent writers may record a few microseconds out of order, and a gap
    at the edges would look like a deletion.
    """
    with engine.connect() as connection:
        bounds = sequence_range(connection, site_id, start, end)
        if fmt == "csv":
            if bounds is None:
                yield from _csv_part_chunks((), purposes, progress)  # the header alone
                return
            cells = partial(_choice_cells, list(purposes))
            csv_parts = record_parts(connection, site_id, cells, *bounds)
            with closing(csv_parts):
                yield from _csv_part_chunks(csv_parts, purposes, progress)
        elif bounds is not None:
            ndjson_parts = record_parts(connection, site_id, _ndjson_choices, *bounds)
            with closing(ndjson_parts):
                yield from _ndjson_part_chunks(ndjson_parts, progress)


class _Cells(tuple[str, int, int, int, int]):
    """The CSV text of a record's choice cells, and how many `,`, `"`, CR and LF it holds."""


def _choice_cells(purposes: list[str], text: str) -> _Cells:
    """The purpose cells and the other-choices cell of a stored choices JSON text, as CSV."""
    # Between two other cells, as csv.writer spells them inside a row.
    line = _csv_line(["x", *choice_cells(json.loads(text), purposes), "x"])
    fragment = line[2:-4]  # "x," ... ",x\r\n"
    counts = (fragment.count(c) for c in ',"\r\n')
    return _Cells((fragment, *counts))


def _csv_line(cells: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)  # RFC 4180: CRLF line ends, quotes only where needed
    return buffer.getvalue()


# The commas between the cells of a row, besides those of the choice cells.
_CSV_COMMAS = len(LEADING) + len(TRAILING)


def _csv_part_chunks(
    parts: Iterable[RecordParts[_Cells]],
    purposes: Sequence[str],
    progress: Callable[[int], None] | None,
) -> Iterator[str]:
    """The CSV text of `parts` whose choices are `_choice_cells`: the header, then a chunk
    per batch of records.

    csv.writer costs more than the rest of an export together, so each line is spelled
    directly; a line whose cells hold a comma, quote or line break (counted beyond those
    of its choice cells), or maybe a None, is spelled again by csv.writer.
    """
    yield _csv_line(csv_header(purposes))
    for batch in batches(parts):
        lines = []
        # Unpacked in RecordParts' order (one step, not 19 attribute loads); a test checks it.
        for part in batch:
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
                chosen_at,
                consent_id,
                user_agent_family,
                ip_prefix,
                erased,
                personal_hash,
                prev_hash,
                record_hash,
            ) = part
            cells, commas, quotes, crs, lfs = choices
            line = (
                f"{sequence},{recorded_at},{site_id},{consent_id},{notice_version},"
                f"{content_hash},{locale},{action},{source},{'true' if gpc else 'false'},"
                f"{user_agent_family},{ip_prefix or ''},{expires_at},{chosen_at or ''},{cells},"
                f"{'true' if erased else 'false'},{personal_hash},{prev_hash},{record_hash}\r\n"
            )
            if (
                line.count(",") != _CSV_COMMAS + commas
                or line.count('"') != quotes
                or line.count("\r") != 1 + crs
                or line.count("\n") != 1 + lfs
                or "None" in line  # csv.writer spells None as an empty cell
            ):
                line = _csv_quoted_line(part, cells)
            lines.append(line)
        yield "".join(lines)
        if progress is not None:
            progress(len(batch))


def _csv_quoted_line(part: RecordParts[_Cells], choices: str) -> str:
    """A record's CSV line spelled by csv.writer, around its choice cells' text."""
    cells = part._asdict()
    cells |= {
        "gpc": _flag(part.gpc),
        "erased": _flag(part.erased),
        "ip_prefix": part.ip_prefix or "",
        "chosen_at": part.chosen_at or "",
    }
    leading = _csv_line(cells[name] for name in LEADING)[:-2]  # without its "\r\n"
    return f"{leading},{choices},{_csv_line(cells[name] for name in TRAILING)}"


def _flag(value: Any) -> str:
    return "true" if value else "false"


def _ndjson_choices(text: str) -> str:
    """The NDJSON spelling of a stored choices JSON text."""
    return _compact_json(json.loads(text))


_compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_json_string = json.encoder.encode_basestring  # what _compact_json spells a str with


def _ndjson_part_chunks(
    parts: Iterable[RecordParts[str]], progress: Callable[[int], None] | None
) -> Iterator[str]:
    """The NDJSON text of `parts` whose choices are `_ndjson_choices`, a chunk per batch."""
    for batch in batches(parts):
        yield "".join([_ndjson_part_line(part) for part in batch])
        if progress is not None:
            progress(len(batch))


def _ndjson_part_line(part: RecordParts[str]) -> str:
    """One record as a JSON object on one line, its fields in NDJSON_FIELDS order."""
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
        chosen_at,
        consent_id,
        user_agent_family,
        ip_prefix,
        erased,
        personal_hash,
        prev_hash,
        record_hash,
    ) = part  # in RecordParts' order (one step, not 19 attribute loads); a test checks it
    q = _json_string
    chosen = "null" if chosen_at is None else f'"{chosen_at}"'  # canonical, or before 0004
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
            f'"expires_at":"{expires_at}",'
            f'"chosen_at":{chosen},'
            f'"choices":{choices},'
            f'"erased":{"true" if erased else "false"},"personal_hash":{q(personal_hash)},'
            f'"prev_hash":{q(prev_hash)},"record_hash":{q(record_hash)}}}\n'
        )
    except TypeError:  # a value that is not a str (or an int sequence): the generic encoder
        values = part._asdict()
        values["choices"] = json.loads(part.choices)
        values["gpc"] = None if part.gpc is None else bool(part.gpc)
        values["erased"] = bool(part.erased)
        return _compact_json({name: values[name] for name in NDJSON_FIELDS}) + "\n"

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
    TRAILING,
    Format,
    batches,
    csv_chunks,
    csv_header,
    csv_row,
    ndjson_line,
)
from zgoda.store.audit import chain_rows
from zgoda.store.chain import PARTS
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
    if bounds is not None:
        yield from chain_rows(connection, site_id, *bounds)


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
    for batch in batches(parts):
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
    for batch in batches(parts):
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

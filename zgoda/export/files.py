"""An export as a file: writing one (gzipped when its name ends in .gz) and checking one offline."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import IO

from sqlalchemy import Engine

from zgoda.export.format import gzip_chunks
from zgoda.export.reader import ExportReader
from zgoda.export.stream import sequence_range
from zgoda.store.chain import GENESIS
from zgoda.store.erasure_check import verify_parts_and_erasures
from zgoda.store.verify import ChainReport


def write_export(chunks: Iterable[str], path: Path) -> None:
    """Write the export's text chunks to `path`, gzipped when its name ends in .gz."""
    if path.suffix == ".gz":
        with path.open("wb") as target:
            write_gzipped(chunks, target)
        return
    with path.open("w", encoding="utf-8", newline="") as text:
        for chunk in chunks:
            text.write(chunk)


def write_gzipped(chunks: Iterable[str], target: IO[bytes]) -> None:
    """Write `gzip_chunks(chunks)` to `target`, compressing on a second thread.

    zlib lets go of the GIL while it compresses, so the export's next chunks are made
    meanwhile. A few chunks wait at most (constant memory). If making the chunks fails,
    the file is left without its gzip trailer, as a truncated export should be.
    """
    pending: queue.Queue[str | None] = queue.Queue(maxsize=4)
    failed: list[BaseException] = []
    finished, drained = threading.Event(), threading.Event()

    def texts() -> Iterator[str]:
        while (text := pending.get()) is not None:
            yield text
        drained.set()
        if not finished.is_set():
            raise _Abandoned

    def compress() -> None:
        try:
            for data in gzip_chunks(texts()):
                target.write(data)
        except _Abandoned:
            pass
        except BaseException as error:  # raised again on the main thread
            failed.append(error)
            while not drained.is_set() and pending.get() is not None:
                pass  # unblock the producer until it stops

    worker = threading.Thread(target=compress, name="gzip-export", daemon=True)
    worker.start()
    try:
        for text in chunks:
            if failed:
                break
            pending.put(text)
        else:
            finished.set()
    finally:
        pending.put(None)
        worker.join()
    if failed:
        raise failed[0]


class _Abandoned(Exception):
    """The export stopped before its end: write no gzip trailer."""


def export_length(
    engine: Engine, site_id: str, start: datetime | None, end: datetime | None
) -> int:
    """How many records an export of [start, end) holds (a query: for a progress bar)."""
    with engine.connect() as connection:
        bounds = sequence_range(connection, site_id, start, end)
    return 0 if bounds is None else bounds[1] - bounds[0] + 1


@dataclass(frozen=True)
class ExportCheck:
    """An export file's check: the chain's report, or why a record cannot be read; and where."""

    report: ChainReport | None  # None when a record cannot be read
    line: int  # the line of the record the check ended at
    unreadable: str | None = None


def verify_export(path: Path) -> ExportCheck:
    """Check the chain of an export file (CSV or NDJSON, plain or gzip) up to its first break."""
    reader = ExportReader(path)
    records = reader.parts()  # as iter(reader), without a dict per record
    try:
        first = next(records, None)
        if first is None:
            return ExportCheck(ChainReport(0, None, None), reader.line)
        # An export may start mid-chain (a time range, or after a purge): trust its first
        # link then; an export from the very start must link to the genesis.
        genesis = first.sequence == 1
        report = verify_parts_and_erasures(
            chain([first], records),
            GENESIS if genesis else None,
            0 if genesis else None,
            spell_times=True,
        )
    except (ValueError, TypeError, KeyError) as error:
        return ExportCheck(None, reader.line, unreadable=str(error))
    return ExportCheck(report, reader.line)

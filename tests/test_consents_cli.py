"""`flask consents export/verify/erase/purge` on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import Engine, select, update

from tests.test_export import SITE, fill, records, sample_event
from zgoda.export.files import write_gzipped
from zgoda.notices.registry import EXTENSION_KEY as NOTICES_KEY
from zgoda.store.db import engine as app_engine
from zgoda.store.log import append_event, events_for
from zgoda.store.tables import chain_checkpoints, chain_heads, consent_events

Edit = Callable[[list[str]], list[str]]


@pytest.fixture
def bound(db_app: Flask) -> Engine:
    with db_app.app_context():
        return app_engine()


@pytest.fixture
def log(bound: Engine) -> Engine:
    """10 optingo records (sequences 1-10) and 3 xopero ones."""
    fill(bound, 10)
    fill(bound, 3, site="xopero")
    return bound


@pytest.fixture
def runner(db_app: Flask) -> FlaskCliRunner:
    return db_app.test_cli_runner()


def run(runner: FlaskCliRunner, *args: str | Path) -> Result:
    return runner.invoke(args=["consents", *(str(arg) for arg in args)])


def export(runner: FlaskCliRunner, path: Path, *options: str) -> Path:
    fmt = "ndjson" if ".ndjson" in path.suffixes else "csv"
    result = run(runner, "export", "--site", SITE, "--format", fmt, "--output", path, *options)
    assert result.exit_code == 0, result.output
    return path


def head_hash(engine: Engine, site: str = SITE) -> str:
    with engine.connect() as connection:
        query = select(chain_heads.c.record_hash).where(chain_heads.c.site_id == site)
        return str(connection.execute(query).scalar_one())


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


# --- export ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["log.csv", "log.ndjson", "log.csv.gz", "log.ndjson.gz"])
def test_an_export_verifies(runner: FlaskCliRunner, log: Engine, tmp_path: Path, name: str) -> None:
    path = export(runner, tmp_path / name)
    if name.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    result = run(runner, "verify", path)
    assert result.exit_code == 0, result.output
    assert result.output == f"OK: 10 records, sequences 1–10, last hash {head_hash(log)}\n"


def test_export_to_stdout(runner: FlaskCliRunner, log: Engine) -> None:
    result = run(runner, "export", "--site", SITE, "--format", "ndjson")
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["sequence"] for line in lines] == list(range(1, 11))
    assert lines[0]["recorded_at"] == "2026-01-01T09:30:00.000000Z"
    assert lines[0]["notice_version"] and lines[0]["record_hash"]


def test_export_csv_has_a_column_per_purpose_of_the_current_notice(
    db_app: Flask, runner: FlaskCliRunner, log: Engine
) -> None:
    result = run(runner, "export", "--site", SITE, "--format", "csv")
    header = next(csv.reader(io.StringIO(result.stdout)))
    purposes = db_app.extensions[NOTICES_KEY].notices[SITE].notice.cookies.purposes
    # Each purpose, then a column per service it lists (tests/test_services_records.py).
    expected = [f"purpose:{key}" for p in purposes for key in (p.id, *p.service_keys)]
    assert [c for c in header if c.startswith("purpose:")] == expected


def test_a_time_range_exports_and_verifies_from_mid_chain(
    runner: FlaskCliRunner, log: Engine, tmp_path: Path
) -> None:
    path = export(runner, tmp_path / "range.csv", "--from", "2026-01-04", "--to", "2026-01-06")
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [row["sequence"] for row in rows] == ["4", "5", "6"]
    result = run(runner, "verify", path)
    assert result.exit_code == 0
    assert result.output.startswith("OK: 3 records, sequences 4–6, last hash ")


def test_export_refuses_an_unknown_site_or_time(runner: FlaskCliRunner, log: Engine) -> None:
    unknown = run(runner, "export", "--site", "nope", "--format", "csv")
    assert unknown.exit_code == 2 and "unknown site" in unknown.output
    bad = run(runner, "export", "--site", SITE, "--format", "csv", "--from", "last week")
    assert bad.exit_code == 2 and "ISO 8601" in bad.output
    assert run(runner, "export", "--site", SITE, "--format", "xml").exit_code == 2


# --- verify: each kind of tampering with an export file is named --------------------------------


def edit_cell(column: str, value: Callable[[str], str], sequence: int) -> Edit:
    """Change one field of one record, in a CSV or an NDJSON export."""

    def edit(lines: list[str]) -> list[str]:
        if lines[0].startswith("{"):
            index = sequence - 1
            record = json.loads(lines[index])
            if column.startswith("purpose:"):
                purpose = column.removeprefix("purpose:")
                record["choices"][purpose] = (
                    value(str(record["choices"][purpose]).lower()) == "true"
                )
            else:
                record[column] = value(str(record[column]))
            lines[index] = json.dumps(record) + "\n"
            return lines
        rows = list(csv.reader(io.StringIO("".join(lines))))
        rows[sequence][rows[0].index(column)] = value(rows[sequence][rows[0].index(column)])
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        return buffer.getvalue().splitlines(keepends=True)

    return edit


def delete_record(sequence: int) -> Edit:
    return lambda lines: [line for line in lines if line is not lines[sequence - 1 + header(lines)]]


def insert_copy(copied: int, after: int) -> Edit:
    def edit(lines: list[str]) -> list[str]:
        offset = header(lines)
        return lines[: after + offset] + [lines[copied - 1 + offset]] + lines[after + offset :]

    return edit


def swap_records(first: int, second: int) -> Edit:
    def edit(lines: list[str]) -> list[str]:
        offset = header(lines)
        i, j = first - 1 + offset, second - 1 + offset
        lines[i], lines[j] = lines[j], lines[i]
        return lines

    return edit


def header(lines: list[str]) -> int:
    return 0 if lines[0].startswith("{") else 1


TAMPERING = {
    "edit the action": (
        edit_cell("action", lambda v: "accept_all", 4),
        4,
        4,
        "the record's content does not match its hash",
    ),
    "edit a choice": (
        edit_cell("purpose:statistics", lambda v: "true", 5),
        5,
        5,
        "the record's content does not match its hash",
    ),
    "edit the time": (
        edit_cell("recorded_at", lambda v: v.replace("2026-01-03", "2026-01-02"), 3),
        3,
        3,
        "the record's content does not match its hash",
    ),
    "edit the consent id": (
        edit_cell("consent_id", lambda v: v.replace("0000-4000", "1111-4111"), 2),
        2,
        2,
        "the consent id, browser or network was changed",
    ),
    "mark a record erased": (
        edit_cell("erased", lambda v: "true", 6),
        6,
        6,
        "marked erased but still holds a consent id, browser or network",
    ),
    "delete a record": (delete_record(4), 5, 4, "record 4 is missing (deleted); found 5"),
    "insert a copy": (insert_copy(2, after=6), 2, 7, "record 7 is out of order; found 2"),
    "reorder two records": (swap_records(4, 5), 5, 4, "record 4 is missing (deleted); found 5"),
}


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
@pytest.mark.parametrize("tampering", list(TAMPERING))
def test_tampering_with_an_export_is_detected_at_the_first_broken_record(
    runner: FlaskCliRunner, log: Engine, tmp_path: Path, fmt: str, tampering: str
) -> None:
    edit, sequence, nth_line, problem = TAMPERING[tampering]
    path = export(runner, tmp_path / f"log.{fmt}")
    path.write_text("".join(edit(lines_of(path))), encoding="utf-8", newline="")
    result = run(runner, "verify", path)
    assert result.exit_code == 1
    line = nth_line + (1 if fmt == "csv" else 0)  # the CSV header is line 1
    assert result.output == f"BROKEN at record {sequence} (line {line}): {problem}\n"


def test_an_export_from_the_start_must_link_to_the_genesis(
    runner: FlaskCliRunner, log: Engine, tmp_path: Path
) -> None:
    path = export(runner, tmp_path / "log.ndjson")
    lines = lines_of(path)
    first = json.loads(lines[0]) | {"prev_hash": "1" * 64}
    path.write_text(json.dumps(first) + "\n" + "".join(lines[1:]))
    result = run(runner, "verify", path)
    assert result.exit_code == 1
    assert result.output.startswith("BROKEN at record 1 (line 1): prev_hash does not match")


def test_an_unreadable_line_is_reported(
    runner: FlaskCliRunner, log: Engine, tmp_path: Path
) -> None:
    path = export(runner, tmp_path / "log.csv")
    lines = lines_of(path)
    lines[3] = "3,not,enough,cells\r\n"
    path.write_text("".join(lines), newline="")
    result = run(runner, "verify", path)
    assert result.exit_code == 1
    assert result.output.startswith("BROKEN at line 4: the record cannot be read: ")
    garbage = tmp_path / "garbage.ndjson"
    garbage.write_text('{"sequence": 1}\n')
    assert "missing fields" in run(runner, "verify", garbage).output


def test_an_empty_export_verifies(runner: FlaskCliRunner, bound: Engine, tmp_path: Path) -> None:
    path = export(runner, tmp_path / "empty.csv.gz")
    assert gzip.decompress(path.read_bytes()).startswith(b"sequence,")
    result = run(runner, "verify", path)
    assert (result.exit_code, result.output) == (0, "OK: 0 records\n")


def test_verify_needs_a_file_or_db(runner: FlaskCliRunner, tmp_path: Path) -> None:
    assert run(runner, "verify").exit_code == 2
    path = tmp_path / "log.csv"
    path.write_text("")
    assert run(runner, "verify", path, "--db").exit_code == 2
    assert run(runner, "verify", path, "--site", SITE).exit_code == 2


# --- verify --db ---------------------------------------------------------------------------------


def test_verify_db_checks_each_site(runner: FlaskCliRunner, log: Engine) -> None:
    result = run(runner, "verify", "--db")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"{SITE}: OK: 10 records, sequences 1–10, last hash {head_hash(log)}",
        f"xopero: OK: 3 records, sequences 1–3, last hash {head_hash(log, 'xopero')}",
    ]
    only = run(runner, "verify", "--db", "--site", "xopero")
    assert only.output.startswith("xopero: OK: 3 records")
    assert run(runner, "verify", "--db", "--site", "nope").exit_code == 2


def test_verify_db_names_the_first_broken_record(runner: FlaskCliRunner, log: Engine) -> None:
    with log.begin() as connection:
        connection.execute(
            update(consent_events)
            .where(consent_events.c.site_id == SITE, consent_events.c.sequence == 3)
            .values(locale="en")
        )
    result = run(runner, "verify", "--db")
    assert result.exit_code == 1
    assert f"{SITE}: BROKEN at record 3: the record's content does not match its hash" in (
        result.output
    )
    assert "xopero: OK: 3 records" in result.output


# --- erase (GDPR Art. 17) ---------------------------------------------------------------------


def test_erase_removes_the_personal_parts_and_the_chain_still_verifies(
    db_app: Flask, runner: FlaskCliRunner, log: Engine, tmp_path: Path
) -> None:
    target = sample_event(3)
    later = sample_event(3, start=datetime(2026, 3, 1, tzinfo=UTC))
    append_event(log, later)  # a second record of the same consent id: sequence 11
    result = run(runner, "erase", "--site", SITE, "--consent-id", target.consent_id)
    assert result.exit_code == 0, result.output
    assert "from 2 records of optingo" in result.output
    assert events_for(log, SITE, target.consent_id) == []
    rows = records(log)
    for row in (rows[3], rows[10]):
        assert (row["consent_id"], row["user_agent_family"], row["ip_prefix"]) == (
            "erased",
            "erased",
            None,
        )
        assert row["erased"] and row["personal_hash"]  # the tombstone
    logged = rows[-1]
    assert (logged["sequence"], logged["action"], logged["source"]) == (12, "erase", "admin")
    assert (logged["consent_id"], logged["choices"], logged["gpc"]) == ("erased", {}, False)
    assert logged["notice_version"] == db_app.extensions[NOTICES_KEY].notices[SITE].version
    assert logged["content_hash"] == "0" * 16
    assert logged["recorded_at"] == logged["expires_at"]
    assert run(runner, "verify", "--db").exit_code == 0
    path = export(runner, tmp_path / "after-erasure.csv")
    assert target.consent_id not in path.read_text()
    verified = run(runner, "verify", path)
    assert verified.exit_code == 0 and "OK: 12 records, sequences 1–12" in verified.output


def test_erase_says_when_there_is_nothing_to_erase(runner: FlaskCliRunner, log: Engine) -> None:
    consent_id = sample_event(3).consent_id
    assert run(runner, "erase", "--site", SITE, "--consent-id", consent_id).exit_code == 0
    again = run(runner, "erase", "--site", SITE, "--consent-id", consent_id)
    assert again.exit_code == 1 and "nothing to erase" in again.output
    assert len(records(log)) == 11  # one erase event, not two
    unknown_site = run(runner, "erase", "--site", "nope", "--consent-id", consent_id)
    assert unknown_site.exit_code == 2


# --- purge (retention) -----------------------------------------------------------------------


@pytest.fixture
def aged_log(bound: Engine) -> Engine:
    """8 optingo records from five years ago, then 4 from last week."""
    now = datetime.now(UTC)
    fill(bound, 8, start=now - timedelta(days=5 * 365))
    for index in range(4):
        append_event(bound, sample_event(8 + index, start=now - timedelta(days=7 + 8)))
    return bound


def test_purge_deletes_old_records_and_leaves_a_checkpoint(
    runner: FlaskCliRunner, aged_log: Engine, tmp_path: Path
) -> None:
    result = run(runner, "purge", "--site", SITE, "--older-than", "3y")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Purged 8 records of optingo recorded before ")
    assert [row["sequence"] for row in records(aged_log)] == [9, 10, 11, 12]
    with aged_log.connect() as connection:
        checkpoint = connection.execute(select(chain_checkpoints)).one()
    assert (checkpoint.sequence, checkpoint.purged_count) == (8, 8)
    assert checkpoint.record_hash in result.output
    verified = run(runner, "verify", "--db", "--site", SITE)
    assert verified.exit_code == 0
    assert verified.output.startswith(f"{SITE}: OK: 4 records, sequences 9–12, last hash ")
    path = export(runner, tmp_path / "after-purge.ndjson")
    assert run(runner, "verify", path).output.startswith("OK: 4 records, sequences 9–12")
    again = run(runner, "purge", "--site", SITE, "--older-than", "36m")
    assert again.exit_code == 0 and again.output.startswith("No record of optingo is older")


def test_purging_every_record_still_verifies(runner: FlaskCliRunner, aged_log: Engine) -> None:
    result = run(runner, "purge", "--site", SITE, "--older-than", "1d")
    assert result.output.startswith("Purged 12 records")
    verified = run(runner, "verify", "--db", "--site", SITE)
    assert (verified.exit_code, verified.output) == (0, f"{SITE}: OK: 0 records\n")


@pytest.mark.parametrize("age", ["3 years", "3w", "0d", "y"])
def test_purge_refuses_an_unreadable_age(
    runner: FlaskCliRunner, aged_log: Engine, age: str
) -> None:
    result = run(runner, "purge", "--site", SITE, "--older-than", age)
    assert result.exit_code == 2 and "90d, 18m, 3y" in result.output
    assert len(records(aged_log)) == 12


# --- gzip on a second thread -----------------------------------------------------------------


def test_gzipped_output_is_the_whole_text(tmp_path: Path) -> None:
    chunks = [f"line {i}\n" * 1000 for i in range(50)]
    path = tmp_path / "out.gz"
    with path.open("wb") as target:
        write_gzipped(iter(chunks), target)
    assert gzip.decompress(path.read_bytes()).decode() == "".join(chunks)


def test_a_failing_export_leaves_a_gzip_without_its_end(tmp_path: Path) -> None:
    def failing() -> Iterator[str]:
        for i in range(20):
            yield f"chunk {i}\n" * 1000
        raise RuntimeError("the database went away")

    path = tmp_path / "out.gz"
    with path.open("wb") as target, pytest.raises(RuntimeError, match="went away"):
        write_gzipped(failing(), target)
    with pytest.raises(EOFError):  # truncated: no one takes it for a whole export
        gzip.decompress(path.read_bytes())


def test_a_failing_write_stops_the_export(tmp_path: Path) -> None:
    class Full(io.BytesIO):
        def write(self, data: Any) -> int:
            raise OSError(28, "No space left on device")

    made: list[int] = []

    def chunks() -> Iterator[str]:
        for i in range(10_000):
            made.append(i)
            yield "x" * 100_000

    with pytest.raises(OSError, match="No space"):
        write_gzipped(chunks(), Full())
    assert len(made) < 10_000

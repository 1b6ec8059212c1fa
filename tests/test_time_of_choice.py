"""A retried choice is logged with the time it was made as well as the time it arrived."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine

from tests.oracle import export_records
from tests.test_api import assert_error, logged, post_consent, record
from tests.test_store import make_event
from zgoda.export import ExportReader, Format, export_chunks
from zgoda.store import count_events
from zgoda.store.audit import verify_site
from zgoda.store.chain import GENESIS
from zgoda.store.db import engine
from zgoda.store.log import append_event
from zgoda.store.verify import ChainReport, verify_parts

T0 = datetime(2026, 1, 1, 9, 30, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def answer_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_a_late_write_keeps_the_time_of_the_click(db_app: Flask) -> None:
    clicked = datetime.now(UTC) - timedelta(minutes=30)
    answer = record(db_app.test_client(), chosen_at=iso(clicked))
    [event] = logged(db_app)
    assert event.chosen_at == clicked
    assert event.recorded_at - event.chosen_at >= timedelta(minutes=30)
    assert answer_time(answer["chosen_at"]) == clicked
    assert answer_time(answer["recorded_at"]) == event.recorded_at
    with db_app.app_context():
        assert verify_site(engine(), "optingo").ok


def test_a_time_in_another_zone_is_kept_in_utc(db_app: Flask) -> None:
    record(db_app.test_client(), chosen_at="2099-01-01T00:00:00+02:00")  # the future: unknown
    clicked = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    warsaw = clicked.astimezone(datetime.now().astimezone().tzinfo).isoformat()
    record(db_app.test_client(), chosen_at=warsaw)
    assert [event.chosen_at for event in logged(db_app)] == [None, clicked]


def test_a_write_without_a_time_of_choice_logs_it_as_unknown(db_app: Flask) -> None:
    answer = record(db_app.test_client())
    assert answer["chosen_at"] is None
    assert logged(db_app)[0].chosen_at is None


def test_a_browser_clock_a_little_fast_gives_the_time_of_receipt(db_app: Flask) -> None:
    record(db_app.test_client(), chosen_at=iso(datetime.now(UTC) + timedelta(minutes=3)))
    [event] = logged(db_app)
    assert event.chosen_at == event.recorded_at  # no choice is made after it arrives


@pytest.mark.parametrize(
    "offset", [timedelta(minutes=10), timedelta(days=-8), timedelta(days=-3650)]
)
def test_an_implausible_time_of_choice_is_logged_as_unknown_and_the_choice_kept(
    db_app: Flask, offset: timedelta
) -> None:
    answer = record(db_app.test_client(), chosen_at=iso(datetime.now(UTC) + offset))
    assert answer["chosen_at"] is None
    [event] = logged(db_app)
    assert event.chosen_at is None and event.action == "accept_all"


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("yesterday", "datetime"),
        ("2026-01-01T10:00:00", "timezone"),  # a naive time says nothing
        ([2026, 1, 1], "datetime"),
        ("2026-02-30T10:00:00Z", "datetime"),
    ],
)
def test_a_time_of_choice_that_is_not_a_time_is_refused_by_name(
    db_app: Flask, value: object, names: str
) -> None:
    response = post_consent(db_app.test_client(), action="accept_all", chosen_at=value)
    assert names in assert_error(response, 422, "validation_error", "chosen_at")["message"]
    with db_app.app_context():
        assert count_events(engine()) == 0


# --- export files with and without the time of choice ---------------------------------------


@pytest.fixture
def mixed_log(db_app: Flask) -> Engine:
    """Records from before migration 0004 (no time of choice) and after it."""
    with db_app.app_context():
        bound = engine()
    for index in range(4):
        recorded = T0 + timedelta(days=index)
        chosen = None if index < 2 else recorded - timedelta(seconds=40)
        append_event(
            bound,
            make_event(
                consent_id=f"00000000-0000-4000-8000-{index:012d}",
                recorded_at=recorded,
                chosen_at=chosen,
            ),
        )
    return bound


def export_file(log: Engine, tmp_path: Path, fmt: Format) -> Path:
    path = tmp_path / f"export.{fmt}"
    text = "".join(export_chunks(log, "optingo", fmt, ["necessary", "statistics"]))
    path.write_text(text, encoding="utf-8", newline="")
    return path


def check(path: Path) -> ChainReport:
    return verify_parts(ExportReader(path).parts(), GENESIS, 0, spell_times=True)


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_an_export_carries_the_time_of_choice_and_verifies(
    mixed_log: Engine, tmp_path: Path, fmt: Format
) -> None:
    path = export_file(mixed_log, tmp_path, fmt)
    chosen = [record["chosen_at"] for record in export_records(path)]
    assert chosen[:2] == [None, None]
    assert chosen[2] == "2026-01-03T09:29:20.000000Z"
    report = check(path)
    assert report.ok and report.checked == 4
    # An edited time of choice breaks the chain at that record.
    path.write_text(path.read_text("utf-8").replace("09:29:20", "09:29:21", 1), "utf-8")
    assert (check(path).broken_at, check(path).problem) == (
        3,
        "the record's content does not match its hash",
    )


def test_an_older_export_without_the_column_still_verifies(
    mixed_log: Engine, tmp_path: Path
) -> None:
    rows = list(csv.reader(io.StringIO(export_file(mixed_log, tmp_path, "csv").read_text("utf-8"))))
    column = rows[0].index("chosen_at")
    old_csv = tmp_path / "old.csv"
    with old_csv.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows(row[:column] + row[column + 1 :] for row in rows[:3])
    report = check(old_csv)
    assert report.ok and report.checked == 2
    lines = export_file(mixed_log, tmp_path, "ndjson").read_text("utf-8").splitlines()[:2]
    old_ndjson = tmp_path / "old.ndjson"
    old_ndjson.write_text(
        "".join(
            json.dumps({k: v for k, v in json.loads(line).items() if k != "chosen_at"}) + "\n"
            for line in lines
        ),
        "utf-8",
    )
    report = check(old_ndjson)
    assert report.ok and report.checked == 2

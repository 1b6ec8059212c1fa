"""Consent-log exports: CSV and NDJSON that rebuild each record exactly, and the export API."""

from __future__ import annotations

import csv
import gzip
import hmac
import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, update

from tests.oracle import (
    chain_rows,
    csv_chunks,
    export_records,
    export_rows,
    ndjson_chunks,
    verify_records,
)
from tests.test_store import make_event
from zgoda.export import (
    FORMATS,
    ExportReader,
    Format,
    csv_header,
    export_chunks,
    gzip_chunks,
    parse_moment,
    record_parts_of,
    stream,
)
from zgoda.export.format import NDJSON_FIELDS
from zgoda.store.audit import erase_consent
from zgoda.store.chain import GENESIS, PARTS
from zgoda.store.db import engine as app_engine
from zgoda.store.event import ConsentEvent
from zgoda.store.keys import create_key, revoke_key
from zgoda.store.log import append_all_in, append_event, writing
from zgoda.store.tables import consent_events
from zgoda.store.verify import verify_parts

SITE = "optingo"
T0 = datetime(2026, 1, 1, 9, 30, tzinfo=UTC)
EXPORT_URL = f"/api/v1/sites/{SITE}/consents/export"
PURPOSES = [
    "necessary",
    "statistics",
    "functional",
    "authentication",
    "analytics",
    "advertising",
    "social_media",
]
ALL_DENIED = {purpose: purpose == "necessary" for purpose in PURPOSES}


def sample_event(index: int, site: str = SITE, start: datetime = T0) -> ConsentEvent:
    """The index-th of a varied history: some purposes absent, one unknown to the notice,
    the time of choice known (a retried write, seconds earlier) or not (before 0004)."""
    recorded_at = start + timedelta(days=index)
    chosen_at = None if index % 3 == 2 else recorded_at - timedelta(seconds=index, microseconds=7)
    variants: list[dict[str, bool]] = [
        ALL_DENIED,
        {"necessary": True, "statistics": True},  # the other purposes are absent
        {"necessary": True, "legacy_tracking": False},  # a purpose no longer in the notice
        {},
    ]
    return make_event(
        site_id=site,
        consent_id=f"00000000-0000-4000-8000-{index:012d}",
        recorded_at=recorded_at,
        expires_at=recorded_at + timedelta(days=180),
        action=["reject_all", "custom", "custom", "withdraw"][index % 4],
        choices=variants[index % 4],
        gpc=index % 3 == 0,
        user_agent_family='Firefox, "Nightly"' if index == 1 else "Chrome",
        ip_prefix=None if index % 5 == 4 else "203.0.113.0/24",
        chosen_at=chosen_at,
    )


def fill(engine: Engine, count: int, site: str = SITE, start: datetime = T0) -> None:
    for index in range(count):
        append_event(engine, sample_event(index, site, start))


def records(engine: Engine, site: str = SITE) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return list(chain_rows(connection, site))


@pytest.fixture
def log(db_app: Flask) -> Engine:
    """A log of 10 optingo records and 3 xopero ones."""
    with db_app.app_context():
        bound = app_engine()
    fill(bound, 10)
    fill(bound, 3, site="xopero")
    return bound


@pytest.fixture
def key(db_app: Flask, log: Engine) -> str:
    return create_key(log, SITE, "tests")


def get(client: FlaskClient, key: str | None, url: str = EXPORT_URL, **headers: str) -> Any:
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return client.get(url, headers=headers)


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# --- serialisation ---------------------------------------------------------------------------


def test_csv_columns_are_fixed_then_one_per_purpose() -> None:
    assert csv_header(["necessary", "statistics"]) == [
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
        "chosen_at",
        "purpose:necessary",
        "purpose:statistics",
        "other_choices",
        "erased",
        "personal_hash",
        "prev_hash",
        "record_hash",
    ]


def test_the_file_holds_every_part_of_a_record_once() -> None:
    assert sorted(NDJSON_FIELDS) == sorted(PARTS)


@pytest.mark.parametrize("writer", [stream._csv_part_chunks, stream._ndjson_part_line])
def test_the_writers_unpack_a_record_in_the_order_of_its_parts(writer: Any) -> None:
    # Their loops unpack each RecordParts by position, into locals named as the fields.
    assert [name for name in writer.__code__.co_varnames if name in PARTS] == list(PARTS)


def test_a_csv_row_tells_an_absent_purpose_from_a_refused_one(log: Engine) -> None:
    purposes = ["necessary", "statistics", "advertising"]
    refused, partial, other = parse_csv("".join(export_chunks(log, SITE, "csv", purposes)))[:3]
    assert partial["purpose:statistics"] == "true"
    assert partial["purpose:advertising"] == ""  # absent from that record
    assert partial["other_choices"] == ""
    assert refused["purpose:advertising"] == "false"
    assert refused["recorded_at"] == "2026-01-01T09:30:00.000000Z"
    assert refused["gpc"] == "true" and refused["erased"] == "false"
    assert json.loads(other["other_choices"]) == {"legacy_tracking": False}


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_an_export_file_rebuilds_every_record_exactly(
    log: Engine, tmp_path: Path, fmt: Format
) -> None:
    rows = records(log)
    path = tmp_path / f"export.{fmt}"
    path.write_text("".join(export_chunks(log, SITE, fmt, PURPOSES)), encoding="utf-8", newline="")
    rebuilt = list(ExportReader(path).parts())
    assert [json.loads(r.choices) for r in rebuilt] == [r["choices"] for r in rows]
    assert [r.ip_prefix for r in rebuilt] == [r["ip_prefix"] for r in rows]
    report = verify_parts(rebuilt, GENESIS, 0, spell_times=True)
    assert report.ok and report.checked == 10
    assert report.last_hash == rows[-1]["record_hash"]
    assert verify_records(export_records(path), GENESIS, 0) == report


def test_the_reader_finds_the_format_and_gzip_from_the_content(log: Engine, tmp_path: Path) -> None:
    for fmt in FORMATS:
        path = tmp_path / f"export-{fmt}"  # no extension
        path.write_bytes(b"".join(gzip_chunks(export_chunks(log, SITE, fmt, PURPOSES))))
        reader = ExportReader(path)
        assert (reader.format, reader.compressed) == (fmt, True)
        assert verify_parts(reader.parts(), GENESIS, 0, spell_times=True).ok


@pytest.mark.parametrize("fmt", FORMATS)
def test_chunks_stream_in_batches(db_app: Flask, fmt: Format) -> None:
    with db_app.app_context():
        bound = app_engine()
    with writing(bound) as connection:  # one transaction: 2500 commits would take a while
        append_all_in(connection, [sample_event(index) for index in range(2500)])
    seen: list[int] = []
    chunks = list(export_chunks(bound, SITE, fmt, PURPOSES, progress=seen.append))
    header = 1 if fmt == "csv" else 0  # a chunk of its own
    assert len(chunks) == 3 + header and seen == [1000, 1000, 500]
    assert sum(chunk.count("\n") for chunk in chunks) == 2500 + header


def test_moments_are_utc_and_an_end_date_includes_its_day() -> None:
    assert parse_moment("2026-01-31") == datetime(2026, 1, 31, tzinfo=UTC)
    assert parse_moment("2026-01-31", end=True) == datetime(2026, 2, 1, tzinfo=UTC)
    assert parse_moment("2026-01-31T12:00:00+02:00") == datetime(2026, 1, 31, 10, tzinfo=UTC)
    assert parse_moment("2026-01-31t12:00:00z") == datetime(2026, 1, 31, 12, tzinfo=UTC)
    assert parse_moment("2026-01-31T12:00") == datetime(2026, 1, 31, 12, tzinfo=UTC)
    for bad in ("yesterday", "2026-13-01", "2026-01-31T25:00"):
        with pytest.raises(ValueError, match="ISO 8601"):
            parse_moment(bad)


# --- the export API: access ------------------------------------------------------------------


def test_no_key_is_401(db_app: Flask, log: Engine) -> None:
    response = get(db_app.test_client(), None)
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert set(response.get_json()) == {"error", "message", "status"}


@pytest.mark.parametrize(
    "presented",
    ["not-a-key", "zk_unknownid00_secret", "Basic abc"],
)
def test_a_malformed_or_unknown_key_is_401(db_app: Flask, log: Engine, presented: str) -> None:
    response = get(db_app.test_client(), presented)
    assert response.status_code == 401


def test_a_wrong_secret_is_401(db_app: Flask, key: str) -> None:
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert get(db_app.test_client(), forged).status_code == 401


def test_a_revoked_key_is_401(db_app: Flask, log: Engine, key: str) -> None:
    assert get(db_app.test_client(), key).status_code == 200
    revoke_key(log, key.split("_")[1])
    response = get(db_app.test_client(), key)
    assert response.status_code == 401
    assert "revoked" in response.get_json()["message"]


def test_another_sites_key_is_403(db_app: Flask, log: Engine) -> None:
    xopero_key = create_key(log, "xopero")
    response = get(db_app.test_client(), xopero_key)
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"
    own = get(db_app.test_client(), xopero_key, "/api/v1/sites/xopero/consents/export")
    assert own.status_code == 200


def test_an_unknown_site_is_404(db_app: Flask, key: str) -> None:
    assert get(db_app.test_client(), key, "/api/v1/sites/nope/consents/export").status_code == 404


def test_secrets_are_compared_in_constant_time(
    db_app: Flask, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def recording(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    client = db_app.test_client()
    assert get(client, key).status_code == 200
    assert get(client, key + "x").status_code == 401
    assert get(client, "zk_000000000000_guess").status_code == 401  # unknown key id: compared too
    assert len(calls) == 3
    assert all(len(a) == len(b) == 64 for a, b in calls)  # hashes, never the raw secret


# --- the export API: content -----------------------------------------------------------------


def test_csv_export_has_every_record_and_column(db_app: Flask, key: str, log: Engine) -> None:
    response = get(db_app.test_client(), key, EXPORT_URL + "?format=csv")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="optingo-')
    assert response.headers["Content-Disposition"].endswith('.csv"')
    assert "Accept-Encoding" in response.headers["Vary"]
    assert "Content-Encoding" not in response.headers
    assert "no-store" in response.headers["Cache-Control"]
    rows = parse_csv(response.get_data(as_text=True))
    assert [int(row["sequence"]) for row in rows] == list(range(1, 11))
    assert {f"purpose:{p}" for p in PURPOSES} <= set(rows[0])
    assert rows[0]["recorded_at"] == "2026-01-01T09:30:00.000000Z"
    assert rows[0]["expires_at"] == "2026-06-30T09:30:00.000000Z"
    assert rows[1]["user_agent_family"] == 'Firefox, "Nightly"'
    assert rows[1]["purpose:advertising"] == "" and rows[1]["purpose:statistics"] == "true"
    assert rows[2]["other_choices"] == '{"legacy_tracking": false}'
    assert rows[4]["ip_prefix"] == ""
    assert rows[0]["prev_hash"] == GENESIS
    assert rows[-1]["record_hash"] == records(log)[-1]["record_hash"]
    assert {row["site_id"] for row in rows} == {SITE}


def test_ndjson_export(db_app: Flask, key: str, log: Engine) -> None:
    response = get(db_app.test_client(), key, EXPORT_URL + "?format=ndjson")
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert len(lines) == 10
    assert lines[2]["choices"] == {"necessary": True, "legacy_tracking": False}
    assert lines[0]["recorded_at"].endswith("Z") and lines[0]["erased"] is False
    assert lines[0]["notice_version"] == "0123456789abcdef"
    assert verify_parts([record_parts_of(line) for line in lines], GENESIS, 0, spell_times=True).ok


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_gzip_when_the_client_accepts_it(db_app: Flask, key: str, fmt: str) -> None:
    client = db_app.test_client()
    plain = get(client, key, EXPORT_URL + f"?format={fmt}").get_data()
    response = get(client, key, EXPORT_URL + f"?format={fmt}", **{"Accept-Encoding": "gzip, br"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert gzip.decompress(response.get_data()) == plain
    refused = get(client, key, EXPORT_URL, **{"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("from=2026-01-04", list(range(4, 11))),
        ("to=2026-01-03", [1, 2, 3]),  # a date as the end includes that day
        ("from=2026-01-03T09:30:00Z&to=2026-01-05T09:30:00Z", [3, 4]),
        ("from=2026-01-03T10:30:00%2B01:00&to=2026-01-05", [3, 4, 5]),
        ("from=2027-01-01", []),
    ],
)
def test_from_and_to_filter_by_utc_time(
    db_app: Flask, key: str, query: str, expected: list[int]
) -> None:
    response = get(db_app.test_client(), key, EXPORT_URL + "?" + query)
    assert response.status_code == 200
    rows = parse_csv(response.get_data(as_text=True))
    assert [int(row["sequence"]) for row in rows] == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [("format=xml", "format"), ("from=yesterday", "from"), ("to=2026-02-30", "to")],
)
def test_a_bad_parameter_is_400_naming_it(db_app: Flask, key: str, query: str, field: str) -> None:
    response = get(db_app.test_client(), key, EXPORT_URL + "?" + query)
    assert response.status_code == 400
    assert response.get_json()["field"] == field


def test_the_key_is_checked_before_the_parameters(db_app: Flask, log: Engine) -> None:
    assert get(db_app.test_client(), None, EXPORT_URL + "?format=xml").status_code == 401


def test_an_empty_csv_export_is_its_header(db_app: Flask, log: Engine) -> None:
    key = create_key(log, "cstudios")
    response = get(db_app.test_client(), key, "/api/v1/sites/cstudios/consents/export")
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith("sequence,recorded_at,")
    assert parse_csv(response.get_data(as_text=True)) == []


def test_an_erased_record_exports_its_tombstone(db_app: Flask, key: str, log: Engine) -> None:
    from zgoda.store.audit import erase_consent

    target = sample_event(3)
    erase_event = replace(
        target,
        consent_id="erased",
        action="erase",
        source="admin",
        choices={},
        user_agent_family="admin",
        ip_prefix=None,
        recorded_at=T0 + timedelta(days=40),
        expires_at=T0 + timedelta(days=40),
    )
    assert erase_consent(log, SITE, target.consent_id, erase_event) == 1
    rows = parse_csv(get(db_app.test_client(), key).get_data(as_text=True))
    erased = rows[3]
    assert (erased["consent_id"], erased["user_agent_family"], erased["ip_prefix"]) == (
        "erased",
        "erased",
        "",
    )
    assert erased["erased"] == "true" and erased["personal_hash"]
    assert rows[-1]["action"] == "erase"


# --- the fast export path spells exactly what the reference path does (tests/oracle.py) -----


def reference_export(engine: Engine, fmt: str, purposes: list[str]) -> str:
    with engine.connect() as connection:
        rows = export_rows(connection, SITE)
        return "".join(csv_chunks(rows, purposes) if fmt == "csv" else ndjson_chunks(rows))


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_the_export_is_byte_identical_to_the_reference_one(log: Engine, fmt: Format) -> None:
    erase_event = replace(sample_event(99), consent_id="erased", action="erase", choices={})
    erase_consent(log, SITE, sample_event(3).consent_id, erase_event)
    odd = {
        "user_agent_family": 'Edge\r\n"x", y',  # quoted cells, outside the choice cells
        "choices": {"necessary": True, 'odd,\n"key': False},
    }
    append_event(log, replace(sample_event(12), **odd))
    with log.begin() as connection:  # times as another writer might have stored them
        at_second = datetime(2026, 2, 1, 9, 30, tzinfo=UTC)
        connection.execute(
            update(consent_events)
            .where(consent_events.c.site_id == SITE, consent_events.c.sequence == 5)
            .values(recorded_at=at_second, expires_at=datetime(999, 1, 1, tzinfo=UTC))
        )
    for purposes in (PURPOSES, [], ["statistics", "nope"]):
        fast = "".join(export_chunks(log, SITE, fmt, purposes))
        assert fast == reference_export(log, fmt, purposes)
        assert fast.count("\n") > 10
    assert list(export_chunks(log, "nobody", fmt, PURPOSES)) == (
        [csv_header_line(PURPOSES)] if fmt == "csv" else []
    )


def csv_header_line(purposes: list[str]) -> str:
    return ",".join(csv_header(purposes)) + "\r\n"


# Only SQLite stores times as text that another writer could have spelled differently.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_odd_sqlite_time_text_is_read_as_sqlalchemy_reads_it(log: Engine) -> None:
    assert log.dialect.name == "sqlite"
    with log.begin() as connection:
        for sequence, stored in ((2, "2026-01-02 09:30:00"), (3, "2026-01-03 09:30:00.5")):
            connection.exec_driver_sql(
                "UPDATE consent_events SET recorded_at = ? WHERE site_id = ? AND sequence = ?",
                (stored, SITE, sequence),
            )
    for fmt in FORMATS:
        assert "".join(export_chunks(log, SITE, fmt, PURPOSES)) == reference_export(
            log, fmt, PURPOSES
        )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_value_of_another_type_is_exported_as_the_reference_spells_it(log: Engine) -> None:
    with log.begin() as connection:  # SQLite keeps a REAL that an INTEGER column cannot hold
        connection.exec_driver_sql(
            "UPDATE consent_events SET sequence = 4.5 WHERE site_id = ? AND sequence = 4", (SITE,)
        )
    for fmt in FORMATS:
        fast = "".join(export_chunks(log, SITE, fmt, PURPOSES))
        assert fast == reference_export(log, fmt, PURPOSES)
        assert "4.5" in fast


@pytest.mark.parametrize("name", ["export.csv", "export.ndjson", "export.csv.gz"])
def test_the_reader_parts_are_its_records(log: Engine, tmp_path: Path, name: str) -> None:
    fmt: Format = "ndjson" if "ndjson" in name else "csv"
    text = "".join(export_chunks(log, SITE, fmt, ["statistics", "necessary"]))
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8", newline="")
    parts = list(ExportReader(path).parts())
    assert parts == [record_parts_of(record) for record in export_records(path)]
    assert len(parts) == 10
    assert verify_parts(parts, GENESIS, 0, spell_times=True) == verify_records(
        export_records(path), GENESIS, 0
    )

"""The consent log's hash chain: every kind of tampering is detected, erasure and purge are not."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import Engine, column, delete, table, update

from tests.conftest import AppFactory
from tests.oracle import (
    chain_rows,
    reference_link_hash,
    reference_personal_hash,
    reference_time,
    verify_records,
)
from tests.test_store import make_event
from zgoda.export import record_parts_of
from zgoda.store.audit import erase_consent, purge_before, verify_site
from zgoda.store.chain import (
    GENESIS,
    PARTS,
    canonical_choices,
    canonical_time,
    link_hash,
    personal_hash,
)
from zgoda.store.db import engine as app_engine
from zgoda.store.event import EVENT_FIELDS
from zgoda.store.log import append_event, events_for
from zgoda.store.migrate import alembic_config, upgrade
from zgoda.store.tables import consent_events
from zgoda.store.verify import ChainReport, verify_parts

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def fill(engine: Engine, count: int, site: str = "optingo", start: datetime = T0) -> None:
    for index in range(count):
        event = make_event(
            site_id=site,
            consent_id=f"00000000-0000-4000-8000-{index:012d}",
            recorded_at=start + timedelta(days=index),
            action="accept_all" if index % 2 else "reject_all",
            # Some records say when the visitor chose (since migration 0004), some do not.
            chosen_at=None if index % 3 == 1 else start + timedelta(days=index, seconds=-3),
        )
        append_event(engine, event)


def rows(engine: Engine, site: str = "optingo") -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return list(chain_rows(connection, site))


@pytest.fixture
def log(db_app: Flask) -> Engine:
    with db_app.app_context():
        bound = app_engine()
    fill(bound, 6)
    fill(bound, 2, site="xopero")
    return bound


def test_an_untouched_log_verifies(log: Engine) -> None:
    report = verify_site(log, "optingo")
    assert report.ok and report.checked == 6 and report.first_sequence == 1
    assert verify_site(log, "xopero").checked == 2
    first = rows(log)[0]
    assert first["prev_hash"] == GENESIS and first["sequence"] == 1


def test_editing_a_record_is_detected(log: Engine) -> None:
    with log.begin() as connection:
        connection.execute(
            update(consent_events)
            .where(consent_events.c.site_id == "optingo", consent_events.c.sequence == 3)
            .values(action="accept_all" if rows(log)[2]["action"] == "reject_all" else "reject_all")
        )
    report = verify_site(log, "optingo")
    assert (report.broken_at, report.problem) == (3, "the record's content does not match its hash")


def test_editing_the_consent_id_is_detected(log: Engine) -> None:
    with log.begin() as connection:
        connection.execute(
            update(consent_events)
            .where(consent_events.c.site_id == "optingo", consent_events.c.sequence == 2)
            .values(consent_id="11111111-1111-4111-8111-111111111111")
        )
    assert verify_site(log, "optingo").broken_at == 2


def test_deleting_a_record_is_detected(log: Engine) -> None:
    with log.begin() as connection:
        connection.execute(
            delete(consent_events).where(
                consent_events.c.site_id == "optingo", consent_events.c.sequence == 4
            )
        )
    report = verify_site(log, "optingo")
    assert report.broken_at == 5 and "record 4 is missing" in str(report.problem)


def test_deleting_the_newest_records_is_detected(log: Engine) -> None:
    with log.begin() as connection:
        connection.execute(
            delete(consent_events).where(
                consent_events.c.site_id == "optingo", consent_events.c.sequence >= 5
            )
        )
    report = verify_site(log, "optingo")
    assert report.broken_at == 5 and "missing" in str(report.problem)


def test_inserting_a_record_is_detected(log: Engine) -> None:
    copied = rows(log)[1] | {"sequence": 4}
    for record in rows(log)[3:][::-1]:  # make room: shift 4.. up by one
        with log.begin() as connection:
            connection.execute(
                update(consent_events)
                .where(consent_events.c.id == record["id"])
                .values(sequence=record["sequence"] + 1)
            )
    copied.pop("id")
    copied.pop("erased")
    with log.begin() as connection:
        connection.execute(consent_events.insert().values(**copied))
    assert verify_site(log, "optingo").broken_at == 4


def check(records: list[dict[str, Any]], *anchor: Any) -> ChainReport:
    """The chain check of records read back as dicts, as the oracle's check reports it too."""
    report = verify_parts(
        [record_parts_of(record) for record in records], *anchor, spell_times=True
    )
    assert report == verify_records(records, *anchor)
    return report


def test_reordering_records_is_detected(log: Engine) -> None:
    records = rows(log)
    swapped = [records[0], records[2], records[1], *records[3:]]
    report = check(swapped, GENESIS, 0)
    # read in file order, the first record out of place looks like a gap at record 2
    assert (report.broken_at, report.problem) == (3, "record 2 is missing (deleted); found 3")
    # renumbering the swapped records to hide the move still breaks the links
    renumbered = [record | {"sequence": i + 1} for i, record in enumerate(swapped)]
    report = check(renumbered, GENESIS, 0)
    assert (report.broken_at, report.problem) == (
        2,
        "prev_hash does not match the previous record's hash",
    )


def test_erasure_removes_personal_parts_and_the_chain_still_verifies(log: Engine) -> None:
    target = rows(log)[2]["consent_id"]
    erase_event = make_event(
        consent_id="erased", action="erase", source="admin", choices={},
        user_agent_family="admin", ip_prefix=None,
        recorded_at=T0 + timedelta(days=30), expires_at=T0 + timedelta(days=30),
    )  # fmt: skip
    assert erase_consent(log, "optingo", target, erase_event) == 1
    assert events_for(log, "optingo", target) == []
    erased = rows(log)[2]
    assert erased["consent_id"] == "erased" and erased["ip_prefix"] is None and erased["erased"]
    assert rows(log)[-1]["action"] == "erase"  # the erasure is itself logged
    report = verify_site(log, "optingo")
    assert report.ok and report.checked == 7
    assert erase_consent(log, "optingo", target, erase_event) == 0  # nothing left to erase


def test_purge_keeps_a_checkpoint_the_chain_starts_from(log: Engine) -> None:
    purged = purge_before(log, "optingo", T0 + timedelta(days=3), now=T0 + timedelta(days=100))
    assert purged == 3
    remaining = rows(log)
    assert [r["sequence"] for r in remaining] == [4, 5, 6]
    assert verify_site(log, "optingo").ok
    assert verify_site(log, "xopero").checked == 2  # other sites untouched
    assert purge_before(log, "optingo", T0, now=T0) == 0


def test_records_after_a_purge_are_still_checked_against_the_checkpoint(log: Engine) -> None:
    purge_before(log, "optingo", T0 + timedelta(days=3), now=T0 + timedelta(days=100))
    with log.begin() as connection:
        connection.execute(
            delete(consent_events).where(
                consent_events.c.site_id == "optingo", consent_events.c.sequence == 4
            )
        )
    assert verify_site(log, "optingo").broken_at == 5


def test_concurrent_appends_make_one_unbroken_chain(db_app: Flask) -> None:
    with db_app.app_context():
        bound = app_engine()

    def write(worker: int) -> None:
        for index in range(15):
            append_event(
                bound, replace(make_event(), consent_id=f"{worker:08d}-0000-4000-8000-{index:012d}")
            )

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = verify_site(bound, "optingo")
    assert report.ok and report.checked == 60
    assert [r["sequence"] for r in rows(bound)] == list(range(1, 61))


def test_migration_chains_events_recorded_before_it(app_factory: AppFactory) -> None:
    app = app_factory()
    bound: Engine = app.extensions["zgoda_db"]
    # back to the log as it was before the chain
    command.downgrade(alembic_config(app.config["DATABASE_URL"]), "0001")
    version_1_fields = [name for name in EVENT_FIELDS if name != "chosen_at"]  # came in 0004
    version_1 = table(
        "consent_events",
        *(column(c.name, c.type) for c in consent_events.columns if c.name in version_1_fields),
    )
    with bound.begin() as connection:
        for index in range(3):
            event = asdict(make_event(recorded_at=T0 + timedelta(hours=index)))
            connection.execute(version_1.insert().values(**{f: event[f] for f in version_1_fields}))
    upgrade(app)
    report = verify_site(bound, "optingo")
    assert report.ok and report.checked == 3
    fill(bound, 1)  # new appends continue the migrated chain
    assert verify_site(bound, "optingo").checked == 4


# --- the fast spelling of the hashes is the reference one (tests/oracle.py) ------------------


def outcome(function: Callable[..., Any], *args: Any) -> Any:
    try:
        return function(*args)
    except Exception as error:  # the same error, or the same value
        return type(error)


TIMES: list[datetime | str] = [
    datetime(2026, 1, 1),
    datetime(2026, 1, 1, 9, 30, 0, 1, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Warsaw")),
    datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
    datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),  # strftime does not pad the year
    datetime(9999, 12, 31, 23, 59, 59, 999999),
    datetime(1, 1, 2, tzinfo=timezone(timedelta(hours=1))),
    "2026-01-01T09:30:00.000000Z",
    "2026-01-01T09:30:00.123456Z",
    "0999-01-01T09:30:00.000000Z",
    "2026-W01-1T09:30:00.000000Z",  # 27 characters, a T and a dot where a canonical time has
    "2026-02-30T09:30:00.000000Z",
    "2026-01-01T24:00:00.000000Z",
    "2026-01-01T09:30:00.1234567Z",
    "2026-01-01T09:30:00Z",
    "2026-01-01T09:30:00+02:00",
    "2026-01-01 09:30:00.000000",
    "2026-01-01",
    "not a time",
    "",
]


@pytest.mark.parametrize("value", TIMES, ids=str)
def test_canonical_time_spells_every_time_as_the_reference(value: datetime | str) -> None:
    assert outcome(canonical_time, value) == outcome(reference_time, value)


def varied_records() -> list[dict[str, Any]]:
    base: dict[str, Any] = {
        "site_id": "optingo",
        "sequence": 7,
        "recorded_at": datetime(2026, 1, 1, 9, 30, tzinfo=UTC),
        "notice_version": "0123456789abcdef",
        "content_hash": "5f0c3a9e1b2d4c6f",
        "locale": "pl",
        "action": "custom",
        "choices": {"necessary": True, "statistics": False},
        "source": "banner",
        "gpc": False,
        "expires_at": "2026-06-30T09:30:00.000000Z",
        "consent_id": "00000000-0000-4000-8000-000000000001",
        "user_agent_family": "Firefox",
        "ip_prefix": "203.0.113.0/24",
        "personal_hash": "a" * 64,
    }
    variants: list[dict[str, Any]] = [
        {},
        {"ip_prefix": None, "gpc": 1, "sequence": "8"},
        {"user_agent_family": 'Firefox, "Nightly"\n\u2028\\ żółw \x00 \ud800'},
        {"choices": {}, "action": "withdraw"},
        {"choices": {"z": 1, "a": 0, "ż": 2.5, "b": None}},  # values of other types
        {"choices": {1: True, "2": False}},  # a key of another type
        {"choices": {True: True}},  # equal to {1: True} as a cache key, not as text
        {"choices": [("necessary", True)]},  # pairs, as dict() takes them
        {"choices": {"list": [1]}},  # an unhashable value
        {"site_id": 5, "locale": None, "source": 1.5},  # not strings (a tampered file)
        {"consent_id": 5, "ip_prefix": ["x"]},
        {"personal_hash": None},
        {"sequence": True},
        {"sequence": "x"},
        {"recorded_at": "2026-01-01T09:30:00+02:00"},
        {"expires_at": "nonsense"},
        {"choices": None},
        {"chosen_at": datetime(2026, 1, 1, 9, 29, 57, 123, tzinfo=UTC)},
        {"chosen_at": "2026-01-01T11:29:57+02:00"},
        {"chosen_at": "nonsense"},
        {"chosen_at": None, "gpc": True},
    ]
    return [base | variant for variant in variants]


@pytest.mark.parametrize("record", varied_records(), ids=lambda record: repr(record)[-60:])
def test_the_hashes_are_the_reference_ones(record: dict[str, Any]) -> None:
    for prev_hash in (GENESIS, None, 'quote"d'):
        assert outcome(link_hash, prev_hash, record) == outcome(
            reference_link_hash, prev_hash, record
        )
    assert outcome(personal_hash, record) == outcome(reference_personal_hash, record)
    # twice: the second time from the cache of canonical choices
    assert outcome(link_hash, GENESIS, record) == outcome(reference_link_hash, GENESIS, record)


def test_equal_cache_keys_of_other_types_spell_their_own_choices() -> None:
    assert canonical_choices({"a": True}) == '{"a":true}'
    assert canonical_choices({"a": 1}) == '{"a":true}'
    assert canonical_choices({1: True}) == '{"1":true}'
    assert canonical_choices({True: True}) == '{"True":true}'
    assert canonical_choices({"b": True, "a": False}) == '{"a":false,"b":true}'


def test_verify_parts_unpacks_a_record_in_the_order_of_its_parts() -> None:
    # Its loop unpacks each RecordParts by position, into locals named as the fields.
    unpacked = [name for name in verify_parts.__code__.co_varnames if name in PARTS]
    assert unpacked == list(PARTS)


def test_verify_parts_reports_as_verify_records(log: Engine) -> None:
    records = rows(log)
    cases: list[list[dict[str, Any]]] = [records, records[2:], []]
    cases.append([records[0], records[2], *records[3:]])  # a deletion
    cases.append([records[1], records[0], *records[2:]])  # a reordering
    cases.append([*records[:3], records[3] | {"action": "x"}, *records[4:]])
    cases.append([*records[:3], records[3] | {"consent_id": "x"}, *records[4:]])
    cases.append([*records[:3], records[3] | {"consent_id": "x", "erased": True}, *records[4:]])
    cases.append([*records[:3], records[3] | {"prev_hash": GENESIS}, *records[4:]])
    cases.append([*records[:3], records[3] | {"site_id": 3}, *records[4:]])
    # The time of choice is covered where a record has one, and cannot be added or dropped.
    assert records[3]["chosen_at"] is not None and records[4]["chosen_at"] is None
    cases.append([*records[:3], records[3] | {"chosen_at": T0}, *records[4:]])
    cases.append([*records[:3], records[3] | {"chosen_at": None}, *records[4:]])
    cases.append([*records[:4], records[4] | {"chosen_at": T0}, *records[5:]])
    for case in cases:
        for anchor in ((GENESIS, 0), (None, None), ("b" * 64, 0)):
            expected = verify_records(case, *anchor)
            parts = [record_parts_of(record) for record in case]
            assert verify_parts(parts, *anchor, spell_times=True) == expected
            canonical = [
                part._replace(
                    recorded_at=canonical_time(part.recorded_at),
                    expires_at=canonical_time(part.expires_at),
                    chosen_at=None if part.chosen_at is None else canonical_time(part.chosen_at),
                )
                for part in parts
            ]
            assert verify_parts(canonical, *anchor) == expected


def test_the_time_of_choice_is_covered_by_the_hash_where_a_record_has_one(log: Engine) -> None:
    records = rows(log)
    with_time = next(i for i, r in enumerate(records) if r["chosen_at"] is not None)
    without = next(i for i, r in enumerate(records) if r["chosen_at"] is None)
    assert verify_records(records, GENESIS, 0).ok
    for index, value in ((with_time, T0), (with_time, None), (without, T0)):
        tampered = [*records[:index], records[index] | {"chosen_at": value}, *records[index + 1 :]]
        report = verify_records(tampered, GENESIS, 0)
        assert (report.broken_at, report.problem) == (
            index + 1,
            "the record's content does not match its hash",
        )


def test_a_record_without_a_time_of_choice_hashes_as_records_did_before_it() -> None:
    record = varied_records()[0]
    before_0004 = {key: value for key, value in record.items() if key != "chosen_at"}
    assert link_hash(GENESIS, record | {"chosen_at": None}) == link_hash(GENESIS, before_0004)
    assert link_hash(GENESIS, record | {"chosen_at": record["recorded_at"]}) != link_hash(
        GENESIS, before_0004
    )

"""The consent log's hash chain: every kind of tampering is detected, erasure and purge are not."""

from __future__ import annotations

import threading
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import Engine, column, delete, table, update

from tests.conftest import AppFactory
from tests.test_store import make_event
from zgoda.store.audit import chain_rows, erase_consent, purge_before, verify_site
from zgoda.store.chain import GENESIS, verify_records
from zgoda.store.db import engine as app_engine
from zgoda.store.log import CHAIN_COLUMNS, append_event, events_for
from zgoda.store.migrate import alembic_config, upgrade
from zgoda.store.tables import consent_events

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def fill(engine: Engine, count: int, site: str = "optingo", start: datetime = T0) -> None:
    for index in range(count):
        event = make_event(
            site_id=site,
            consent_id=f"00000000-0000-4000-8000-{index:012d}",
            recorded_at=start + timedelta(days=index),
            action="accept_all" if index % 2 else "reject_all",
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


def test_reordering_records_is_detected(log: Engine) -> None:
    records = rows(log)
    swapped = [records[0], records[2], records[1], *records[3:]]
    report = verify_records(swapped, GENESIS, 0)
    # read in file order, the first record out of place looks like a gap at record 2
    assert (report.broken_at, report.problem) == (3, "record 2 is missing (deleted); found 3")
    # renumbering the swapped records to hide the move still breaks the links
    renumbered = [record | {"sequence": i + 1} for i, record in enumerate(swapped)]
    report = verify_records(renumbered, GENESIS, 0)
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
    version_1 = table(
        "consent_events",
        *(column(c.name, c.type) for c in consent_events.columns if c.name not in CHAIN_COLUMNS),
    )
    with bound.begin() as connection:
        for index in range(3):
            event = make_event(recorded_at=T0 + timedelta(hours=index))
            connection.execute(version_1.insert().values(**asdict(event)))
    upgrade(app)
    report = verify_site(bound, "optingo")
    assert report.ok and report.checked == 3
    fill(bound, 1)  # new appends continue the migrated chain
    assert verify_site(bound, "optingo").checked == 4

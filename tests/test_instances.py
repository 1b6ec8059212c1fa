"""Two gunicorn instances sharing one PostgreSQL log: no lost, duplicated or split consents."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select

from tests.servers import (
    api,
    free_port,
    gunicorn_command,
    running_server,
    server_env,
    upgrade_database,
)
from zgoda.store import events_for
from zgoda.store.audit import verify_site
from zgoda.store.tables import consent_events

SITE = "optingo"
WRITES_PER_INSTANCE = 50


def notice_version(port: int) -> str:
    """The notice version the banner of SITE shows now."""
    status, banner = api(port, "GET", f"/api/v1/sites/{SITE}/banner?lang=pl")
    assert status == 200, banner
    return str(banner["notice_version"])


def record(port: int, version: str, **fields: Any) -> tuple[int, Any]:
    """POST one consent to the instance on `port`."""
    body = {"action": "accept_all", "notice_version": version, "locale": "pl"} | fields
    return api(port, "POST", f"/api/v1/sites/{SITE}/consents", body)


@pytest.fixture
def instances(database_url: str, tmp_path: Path) -> Iterator[tuple[int, int]]:
    """Two gunicorn servers (2 workers each) on one migrated database; yields their ports."""
    env = server_env(DATABASE_URL=database_url, CONSENT_RATE_LIMIT="1000000 per minute")
    upgrade_database(env)  # once, as a deployment does before starting its instances
    port_a, port_b = free_port(), free_port()
    with (
        running_server(gunicorn_command(port_a), port_a, env, tmp_path / "a.log"),
        running_server(gunicorn_command(port_b), port_b, env, tmp_path / "b.log"),
    ):
        yield port_a, port_b


@pytest.fixture
def log_engine(database_url: str) -> Iterator[Engine]:
    """An engine of our own on the instances' database, to read the log directly."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    yield engine
    engine.dispose()


# Two gunicorn servers per test, on PostgreSQL: part of the full run, not of the quick one.
pytestmark = [
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
    pytest.mark.slow,
]


def test_concurrent_writes_through_both_instances_each_land_once(
    instances: tuple[int, int], log_engine: Engine
) -> None:
    port_a, port_b = instances
    version = notice_version(port_a)
    assert notice_version(port_b) == version
    ports = [port_a, port_b] * WRITES_PER_INSTANCE
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda port: (port, *record(port, version)), ports))

    created = [body["consent_id"] for _, status, body in answers if status == 201]
    assert [status for _, status, _ in answers] == [201] * len(ports), answers[:3]
    for port in (port_a, port_b):
        assert sum(1 for p, status, _ in answers if p == port and status == 201) == 50
    assert len(set(created)) == len(created)  # every POST without an id started a new consent

    per_consent = (
        select(consent_events.c.consent_id, func.count())
        .where(consent_events.c.site_id == SITE)
        .group_by(consent_events.c.consent_id)
    )
    with log_engine.connect() as connection:
        rows_per_id = {cid: n for cid, n in connection.execute(per_consent)}
        total = connection.execute(select(func.count()).select_from(consent_events)).scalar_one()
    assert total == len(created)
    assert rows_per_id == dict.fromkeys(created, 1)
    # Both instances appended to one hash chain of the site, and it is unbroken.
    chain = verify_site(log_engine, SITE)
    assert chain.ok and chain.checked == total, chain


def test_a_consent_from_one_instance_continues_on_the_other(
    instances: tuple[int, int], log_engine: Engine
) -> None:
    port_a, port_b = instances
    version = notice_version(port_a)

    status, first = record(port_a, version)
    assert status == 201, first
    consent_id = first["consent_id"]
    status, second = record(port_b, version, action="reject_all", token=first["token"])
    assert status == 201, second
    assert second["consent_id"] == consent_id

    history = events_for(log_engine, SITE, consent_id)
    assert [event.action for event in history] == ["accept_all", "reject_all"]
    assert history[0].recorded_at <= history[1].recorded_at
    assert [event.choices for event in history] == [first["choices"], second["choices"]]
    assert first["choices"] != second["choices"]  # the withdrawal of the optional purposes

    # Both instances sign with the same secret: a token from A verifies on B, and back.
    for port, token in ((port_b, first["token"]), (port_a, second["token"])):
        status, verdict = api(port, "POST", f"/api/v1/sites/{SITE}/verify", {"token": token})
        assert status == 200 and verdict["status"] == "valid", verdict
        assert verdict["consent_id"] == consent_id

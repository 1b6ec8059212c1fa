"""A consent answered 201 survives the server being killed: SIGKILL gunicorn mid-load, restart.

The master and every worker are killed at once (the whole process group), so nothing gets a
chance to flush or shut down; the restarted server must find every answered consent in the
log, with every row complete, and go on writing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, Text, cast, create_engine, func, or_, select, text

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
from zgoda.store.tables import chain_heads, consent_events

# Server processes killed and restarted: part of the full run, not of the quick one.
pytestmark = pytest.mark.slow

SITE = "optingo"
LOAD_THREADS = 8
MAX_REQUESTS = 2000  # the load never sends more than this in all
KILL_AFTER_CREATED = 500  # kill once this many consents were answered 201...
KILL_AFTER_SECONDS = 5.0  # ...or this long after the load started, whichever comes first
MIN_CREATED = 20  # fewer answered consents before the kill would prove little


def consent_body(version: str) -> dict[str, str]:
    """A new accept-all consent (no consent_id: the server makes one)."""
    return {"action": "accept_all", "notice_version": version, "locale": "pl"}


@dataclass
class WriteLoad:
    """Threads posting new consents until stopped, bounded in count and time."""

    port: int
    notice_version: str
    created: dict[str, dict[str, Any]] = field(default_factory=dict)  # consent id -> 201 body
    attempted: int = 0
    unexpected: list[str] = field(default_factory=list)  # any answer but 201, errors before kill
    killed_at: float | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, threads: int, deadline: float) -> list[threading.Thread]:
        """Start `threads` posting threads that end by `deadline` (monotonic) at the latest."""
        workers = [
            threading.Thread(target=self._post_until_stopped, args=(deadline,), daemon=True)
            for _ in range(threads)
        ]
        for worker in workers:
            worker.start()
        return workers

    def _post_until_stopped(self, deadline: float) -> None:
        path = f"/api/v1/sites/{SITE}/consents"
        while not self.stop.is_set() and time.monotonic() < deadline:
            with self.lock:
                if self.attempted >= MAX_REQUESTS:
                    return
                self.attempted += 1
            try:
                status, body = api(self.port, "POST", path, consent_body(self.notice_version))
            except Exception as error:  # the kill shows as a reset, refused or cut-off answer
                failed_at = time.monotonic()
                with self.lock:
                    if self.killed_at is None or failed_at < self.killed_at:
                        self.unexpected.append(f"before the kill: {error!r}")
                if self.killed_at is not None:
                    return
                continue
            with self.lock:
                if status == 201:
                    self.created[body["consent_id"]] = body
                else:
                    self.unexpected.append(f"{status}: {body}")


def live_members(group: int) -> list[int]:
    """Pids of the processes in process group `group` that are not dead (zombies are dead)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # The command name may hold spaces; the fields after its closing parenthesis do not.
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == group and state not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def kill_server_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the gunicorn master and its workers at once, and wait until all are dead."""
    os.killpg(process.pid, signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while live_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live_members(process.pid) == [], "a gunicorn worker outlived the kill"


@pytest.fixture
def log_engine(database_url: str) -> Iterator[Engine]:
    """An engine of our own on the server's database, to read the log directly."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    yield engine
    engine.dispose()


def test_answered_consents_survive_sigkill_of_every_server_process(
    database_url: str, log_engine: Engine, tmp_path: Path
) -> None:
    env = server_env(DATABASE_URL=database_url, CONSENT_RATE_LIMIT="1000000 per minute")
    upgrade_database(env)
    port = free_port()
    command = gunicorn_command(port, workers=2)
    log = tmp_path / "server.log"

    with running_server(command, port, env, log, new_session=True) as server:
        status, banner = api(port, "GET", f"/api/v1/sites/{SITE}/banner?lang=pl")
        assert status == 200, banner
        load = WriteLoad(port, banner["notice_version"])
        started = time.monotonic()
        threads = load.run(LOAD_THREADS, deadline=started + 2 * KILL_AFTER_SECONDS)
        try:
            while (
                len(load.created) < KILL_AFTER_CREATED
                and time.monotonic() - started < KILL_AFTER_SECONDS
                and any(thread.is_alive() for thread in threads)
            ):
                time.sleep(0.01)
            with load.lock:
                load.killed_at = time.monotonic()
            kill_server_group(server)
        finally:
            load.stop.set()
            for thread in threads:
                thread.join(timeout=40)
        assert not any(thread.is_alive() for thread in threads)

    assert load.unexpected == []
    assert len(load.created) >= MIN_CREATED, f"only {len(load.created)} answered before the kill"
    assert load.attempted > len(load.created), "the kill came after the load, not during it"

    restart_port = free_port()
    with running_server(gunicorn_command(restart_port, workers=2), restart_port, env, log):
        # Every consent answered 201 before the kill is in the log.
        with log_engine.connect() as connection:
            logged = set(connection.execute(select(consent_events.c.consent_id)).scalars())
        assert set(load.created) <= logged
        rows_after_crash = len(logged)
        # Each POST made one new consent: at least the answered ones, at most the ones sent.
        assert len(load.created) <= rows_after_crash <= load.attempted

        # A token issued before the kill still verifies, and the restarted server writes.
        before = next(iter(load.created.values()))
        status, verdict = api(
            restart_port, "POST", f"/api/v1/sites/{SITE}/verify", {"token": before["token"]}
        )
        assert status == 200 and verdict["status"] == "valid", verdict
        status, after = api(
            restart_port,
            "POST",
            f"/api/v1/sites/{SITE}/consents",
            consent_body(load.notice_version),
        )
        assert status == 201, after
        assert after["consent_id"] not in logged
        [event] = events_for(log_engine, SITE, after["consent_id"])
        assert event.action == "accept_all" and event.choices == after["choices"]

    assert_every_row_is_complete(log_engine, expected_rows=rows_after_crash + 1, sample=before)


def assert_every_row_is_complete(
    engine: Engine, expected_rows: int, sample: dict[str, Any]
) -> None:
    """No NULL where the schema forbids it, choices that parse, ids that are UUIDs, and the
    site's hash chain unbroken from its first record to its head."""
    required = [column for column in consent_events.columns if not column.nullable]
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            assert connection.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
        total = connection.execute(select(func.count()).select_from(consent_events)).scalar_one()
        incomplete = connection.execute(
            select(func.count())
            .select_from(consent_events)
            .where(or_(*(column.is_(None) for column in required)))
        ).scalar_one()
        rows = connection.execute(
            select(
                consent_events.c.consent_id,
                cast(consent_events.c.choices, Text),  # the stored text, not the driver's parse
                consent_events.c.recorded_at,
                consent_events.c.expires_at,
            )
        ).all()
        head = connection.execute(
            select(chain_heads.c.sequence).where(chain_heads.c.site_id == SITE)
        ).scalar_one()
    assert total == expected_rows == len(rows) == head
    chain = verify_site(engine, SITE)
    assert chain.ok and chain.checked == total, chain
    assert incomplete == 0
    consent_ids = [consent_id for consent_id, *_ in rows]
    assert len(set(consent_ids)) == len(consent_ids)
    for consent_id, stored_choices, recorded_at, expires_at in rows:
        assert str(uuid.UUID(consent_id)) == consent_id
        assert json.loads(stored_choices) == sample["choices"]  # every load POST accepted all
        assert expires_at > recorded_at

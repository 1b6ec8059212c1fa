"""Webhooks end to end: `flask webhooks deliver` as its own process, POSTing to a receiver on
127.0.0.1 that checks each delivery with the README's snippet. The receiver is down, then up;
the worker is SIGKILLed mid-way and started again. Every event arrives, in order per consent
id, and a duplicate only ever repeats a webhook-id already received."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select

from tests.conftest import ROOT
from tests.servers import free_port, server_env
from tests.test_webhooks import make_event
from zgoda.store import append_event
from zgoda.store.db import engine as app_engine
from zgoda.store.tables import webhook_deliveries
from zgoda.webhooks.endpoints import add_endpoint

pytestmark = pytest.mark.slow

SITE = "optingo"
KEY = "a-webhook-test-secret-of-at-least-32-bytes"
CONSENTS = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(4)]
ACTIONS = ["accept_all", "custom", "reject_all", "withdraw", "accept_all"]


def readme_verifier(secret: str) -> Callable[[bytes, dict[str, str]], Any]:
    """The README's `consent_event`, with the endpoint's secret put in."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Webhooks", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    code = code.replace(
        'WEBHOOK_SECRET = "<the output of: flask --app app webhooks add optingo URL>"',
        f"WEBHOOK_SECRET = {secret!r}",
    )
    assert secret in code
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    verify: Callable[[bytes, dict[str, str]], Any] = namespace["consent_event"]
    return verify


class Received:
    """What the receiver was sent: every POST that verified, duplicates included."""

    def __init__(self, secret: str, delay: float) -> None:
        self.verify = readme_verifier(secret)
        self.delay = delay
        self.lock = threading.Lock()
        self.all: list[tuple[str, dict[str, Any]]] = []  # (webhook-id, event), in arrival order
        self.duplicates: list[tuple[str, dict[str, Any]]] = []
        self.forged = 0

    def take(self, body: bytes, headers: dict[str, str]) -> int:
        time.sleep(self.delay)  # a slow receiver: a kill lands mid-delivery
        with self.lock:
            try:
                event = self.verify(body, headers)
            except Exception:
                self.forged += 1
                return 400
            message_id = {name.lower(): value for name, value in headers.items()}["webhook-id"]
            if event is None:
                self.duplicates.append((message_id, json.loads(body)))
            else:
                self.all.append((message_id, event))
            return 204

    def per_consent(self) -> dict[str, list[int]]:
        order: dict[str, list[int]] = {}
        for _, event in self.all:
            order.setdefault(event["data"]["consent_id"], []).append(event["data"]["sequence"])
        return order


@contextmanager
def receiver(port: int, received: Received) -> Iterator[None]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = received.take(body, dict(self.headers.items()))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def worker(database_url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`flask webhooks deliver` in its own process, retrying quickly."""
    env = server_env(SECRET_KEY=KEY) | {"DATABASE_URL": database_url}
    command = [
        sys.executable, "-m", "flask", "--app", "app", "webhooks", "deliver",
        "--first-retry", "0.2", "--poll", "0.05", "--timeout", "1",
    ]  # fmt: skip
    with log.open("ab") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(10)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def bound(app_factory: Any) -> Engine:
    app: Flask = app_factory(SECRET_KEY=KEY)
    with app.app_context():
        return app_engine()


def record_events(bound: Engine) -> list[tuple[str, int]]:
    """Interleaved events of four consent ids; their (consent id, sequence) in order."""
    recorded = []
    for action in ACTIONS:
        for consent_id in CONSENTS:
            event = make_event(consent_id=consent_id, action=action, recorded_at=datetime.now(UTC))
            recorded.append((consent_id, append_event(bound, event)))
    return recorded


def counts(bound: Engine) -> tuple[int, int]:
    d = webhook_deliveries.c
    with bound.connect() as connection:
        delivered = connection.execute(select(func.count()).where(d.delivered_at.is_not(None)))
        attempted = connection.execute(select(func.count()).where(d.attempts > 0))
        return int(delivered.scalar_one()), int(attempted.scalar_one())


def expected_order(recorded: list[tuple[str, int]]) -> dict[str, list[int]]:
    order: dict[str, list[int]] = {}
    for consent_id, sequence in recorded:
        order.setdefault(consent_id, []).append(sequence)
    return order


def message_ids(bound: Engine) -> set[str]:
    with bound.connect() as connection:
        return set(connection.execute(select(webhook_deliveries.c.message_id)).scalars())


def test_a_receiver_down_then_up_gets_every_event_once_in_order(
    bound: Engine, database_url: str, tmp_path: Path
) -> None:
    _, secret = add_endpoint(bound, SITE, f"http://127.0.0.1:{(port := free_port())}/hook", KEY, [])
    recorded = record_events(bound)
    received = Received(secret, delay=0)
    with worker(database_url, tmp_path / "worker.log") as process:
        # Down: every consent id's first event is tried, and none is delivered.
        wait_until(lambda: counts(bound)[1] >= len(CONSENTS), 30, "attempts while down")
        time.sleep(0.5)
        assert counts(bound)[0] == 0 and process.poll() is None
        with receiver(port, received):
            wait_until(lambda: counts(bound)[0] == len(recorded), 60, "every delivery")
    assert received.forged == 0
    assert received.duplicates == []
    assert {message_id for message_id, _ in received.all} == message_ids(bound)
    assert len(received.all) == len(recorded)
    assert received.per_consent() == expected_order(recorded)


def test_a_worker_killed_mid_way_loses_nothing_and_repeats_only_a_webhook_id(
    bound: Engine, database_url: str, tmp_path: Path
) -> None:
    _, secret = add_endpoint(bound, SITE, f"http://127.0.0.1:{(port := free_port())}/hook", KEY, [])
    recorded = record_events(bound)
    received = Received(secret, delay=0.1)
    with receiver(port, received):
        with worker(database_url, tmp_path / "worker.log") as process:
            wait_until(lambda: len(received.all) >= 6, 30, "some deliveries")
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
        assert 0 < counts(bound)[0] < len(recorded)  # killed mid-way
        with worker(database_url, tmp_path / "worker.log"):
            wait_until(lambda: counts(bound)[0] == len(recorded), 60, "every delivery")
    assert received.forged == 0
    assert {message_id for message_id, _ in received.all} == message_ids(bound)
    assert len(received.all) == len(recorded)  # each event's first arrival, once
    first = dict(received.all)
    # A repeat is the delivery the kill interrupted: a webhook-id and body already received.
    assert len(received.duplicates) <= 1
    for message_id, body in received.duplicates:
        assert first[message_id] == body
    assert received.per_consent() == expected_order(recorded)

"""Signed webhooks: the outbox written with each event, the payload, the signature, the CLI."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import Engine, func, select, update
from standardwebhooks.webhooks import Webhook

from tests.servers import free_port
from tests.test_dashboard import new_key, sign_in
from tests.test_store import NOW
from tests.test_store import make_event as make_stored_event
from zgoda.consent.rules import erase_event
from zgoda.errors import ConfigError, StorageError
from zgoda.notices.registry import notice_registry
from zgoda.store import append_event, count_events
from zgoda.store.appender import write_events
from zgoda.store.audit import ERASED_BEFORE_DELIVERY, erase_consent
from zgoda.store.db import engine as app_engine
from zgoda.store.event import ERASED, ConsentEvent
from zgoda.store.group_commit import GroupCommit
from zgoda.store.tables import webhook_deliveries, webhook_endpoints
from zgoda.webhooks.payload import event_body, signed_headers
from zgoda.webhooks.secrets import decrypt_secret, encrypt_secret, new_secret

SITE = "optingo"
# The Standard Webhooks specification's published example.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def make_event(**overrides: Any) -> ConsentEvent:
    """The storage tests' event, with a time of choice (a retried write, 3 s before receipt)."""
    return make_stored_event(**({"chosen_at": NOW - timedelta(seconds=3)} | overrides))


@pytest.fixture
def runner(db_app: Flask) -> FlaskCliRunner:
    return db_app.test_cli_runner()


@pytest.fixture
def bound(db_app: Flask) -> Engine:
    with db_app.app_context():
        return app_engine()


def add(runner: FlaskCliRunner, url: str = "https://hooks.example.com/zgoda") -> str:
    result = runner.invoke(args=["webhooks", "add", SITE, url])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def outbox(bound: Engine) -> list[Any]:
    with bound.connect() as connection:
        return list(connection.execute(select(webhook_deliveries).order_by("id")))


# --- signing --------------------------------------------------------------------------


def test_the_signature_is_the_specifications_example() -> None:
    sent_at = datetime.fromtimestamp(SPEC_TIMESTAMP, UTC)
    headers = signed_headers(SPEC_ID, SPEC_BODY, SPEC_SECRET, sent_at)
    assert headers["webhook-id"] == SPEC_ID
    assert headers["webhook-timestamp"] == str(SPEC_TIMESTAMP)
    assert headers["webhook-signature"] == SPEC_SIGNATURE


def test_a_changed_body_does_not_verify() -> None:
    secret, now = new_secret(), datetime.now(UTC)
    headers = signed_headers("msg_1", '{"a":1}', secret, now)
    assert Webhook(secret).verify('{"a":1}', headers) == {"a": 1}
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(secret).verify('{"a":2}', headers)
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(new_secret()).verify('{"a":1}', headers)


def test_secrets_are_kept_encrypted_and_survive_a_key_rotation() -> None:
    secret = new_secret()
    stored = encrypt_secret(secret, "old-key-of-at-least-32-bytes-length")
    assert secret not in stored and secret.removeprefix("whsec_") not in stored
    assert decrypt_secret(stored, "old-key-of-at-least-32-bytes-length") == secret
    rotated = decrypt_secret(
        stored, "new-key-of-at-least-32-bytes-length", ["old-key-of-at-least-32-bytes-length"]
    )
    assert rotated == secret
    with pytest.raises(ConfigError, match="does not decrypt"):
        decrypt_secret(stored, "another-key-of-at-least-32-bytes")


# --- the payload ----------------------------------------------------------------------


def test_the_payload_names_the_choice_and_never_the_network_or_browser() -> None:
    record = make_event().record() | {"sequence": 7}
    body = json.loads(event_body(record))
    assert body["type"] == "consent.recorded"
    assert body["timestamp"] == "2026-11-21T12:00:00Z"
    assert body["data"] == {
        "site": SITE,
        "consent_id": "6f1c1c8e-8d3e-4b8e-9d7a-0b1f2b3c4d5e",
        "action": "custom",
        "choices": {"necessary": True, "statistics": True, "advertising": False},
        "notice_version": "0123456789abcdef",
        "recorded_at": "2026-11-21T12:00:00Z",
        "chosen_at": "2026-11-21T11:59:57Z",
        "sequence": 7,
    }
    text = event_body(record)
    assert "203.0.113" not in text and "Firefox" not in text
    assert "ip_prefix" not in text and "user_agent" not in text


# --- the outbox -----------------------------------------------------------------------


def test_a_site_without_endpoints_queues_nothing(db_app: Flask, bound: Engine) -> None:
    append_event(bound, make_event())
    assert outbox(bound) == []


def test_each_event_is_queued_once_per_endpoint_of_its_site(
    runner: FlaskCliRunner, bound: Engine
) -> None:
    add(runner, "https://one.example.com/hook")
    add(runner, "https://two.example.com/hook")
    sequence = append_event(bound, make_event())
    append_event(bound, make_event(site_id="xopero"))  # another site: no endpoint
    rows = outbox(bound)
    assert len(rows) == 2
    assert {row.endpoint_id for row in rows} == {row.id for row in _endpoints(bound)}
    assert rows[0].message_id == rows[1].message_id  # one event, one webhook-id
    assert rows[0].message_id.startswith("msg_")
    assert [(row.site_id, row.sequence, row.attempts) for row in rows] == [(SITE, sequence, 0)] * 2
    assert json.loads(rows[0].payload)["data"]["sequence"] == sequence
    assert "203.0.113" not in rows[0].payload


def _endpoints(bound: Engine) -> list[Any]:
    with bound.connect() as connection:
        return list(connection.execute(select(webhook_endpoints)))


def test_a_failed_event_write_leaves_no_outbox_row(runner: FlaskCliRunner, bound: Engine) -> None:
    add(runner)

    def write_then_fail(cursor: Any, sql: Any, events: list[ConsentEvent], heads: Any) -> Any:
        write_events(cursor, sql, events, heads)  # events and outbox rows inserted ...
        raise RuntimeError("disk full")  # ... and the transaction then fails

    writer = GroupCommit(bound, write=write_then_fail)
    with pytest.raises(StorageError, match="disk full"):
        writer.append(make_event())
    assert count_events(bound, SITE) == 0
    assert outbox(bound) == []
    GroupCommit(bound).append(make_event())  # the next write goes through, with its row
    assert count_events(bound, SITE) == 1 and len(outbox(bound)) == 1


def test_a_removed_endpoint_gets_no_new_rows_and_its_pending_ones_fail(
    runner: FlaskCliRunner, bound: Engine
) -> None:
    add(runner)
    endpoint_id = _endpoints(bound)[0].id
    append_event(bound, make_event())
    result = runner.invoke(args=["webhooks", "remove", endpoint_id])
    assert result.exit_code == 0, result.output
    append_event(bound, make_event())
    rows = outbox(bound)
    assert len(rows) == 1
    assert rows[0].failed_at is not None and rows[0].last_error == "the endpoint was removed"


# --- the CLI --------------------------------------------------------------------------


def test_add_prints_the_secret_once_and_stores_it_encrypted(
    runner: FlaskCliRunner, bound: Engine
) -> None:
    result = runner.invoke(args=["webhooks", "add", SITE, "https://hooks.example.com/x"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert secret.startswith("whsec_") and len(secret.splitlines()) == 1
    assert "cannot be shown again" in result.stderr
    (row,) = _endpoints(bound)
    assert (row.site_id, row.url, row.disabled_at) == (SITE, "https://hooks.example.com/x", None)
    assert secret.removeprefix("whsec_") not in row.secret_encrypted
    assert decrypt_secret(row.secret_encrypted, "test-secret") == secret


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://hooks.example.com/x", "must start with http:// or https://"),
        ("hooks.example.com/x", "must start with http:// or https://"),
        ("https:///x", "has no host"),
        ("https://h.example.com/" + "x" * 2048, "longer than 2048"),
    ],
)
def test_add_refuses_a_url_it_cannot_send_to(
    runner: FlaskCliRunner, bound: Engine, url: str, problem: str
) -> None:
    result = runner.invoke(args=["webhooks", "add", SITE, url])
    assert result.exit_code == 2
    assert "URL" in result.output and problem in result.output
    assert _endpoints(bound) == []


def test_add_refuses_an_unknown_site(runner: FlaskCliRunner, bound: Engine) -> None:
    result = runner.invoke(args=["webhooks", "add", "nope", "https://hooks.example.com/x"])
    assert result.exit_code == 2
    assert "SITE" in result.output and "unknown site 'nope'" in result.output


def test_remove_and_test_name_an_unknown_endpoint(runner: FlaskCliRunner, bound: Engine) -> None:
    for command in ("remove", "test"):
        result = runner.invoke(args=["webhooks", command, "abc123"])
        assert result.exit_code == 1
        assert "no active webhook endpoint 'abc123'" in result.output


def test_list_shows_each_endpoints_counts_and_last_error(
    runner: FlaskCliRunner, bound: Engine
) -> None:
    assert runner.invoke(args=["webhooks", "list"]).stdout == "No webhook endpoints.\n"
    add(runner)
    for _ in range(3):
        append_event(bound, make_event())
    with bound.begin() as connection:
        first, second = (row.id for row in outbox(bound)[:2])
        connection.execute(
            webhook_deliveries.update()
            .where(webhook_deliveries.c.id == first)
            .values(delivered_at=NOW)
        )
        connection.execute(
            webhook_deliveries.update()
            .where(webhook_deliveries.c.id == second)
            .values(failed_at=NOW, last_error="HTTP 500")
        )
    result = runner.invoke(args=["webhooks", "list", SITE])
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    assert "https://hooks.example.com/zgoda  active" in line
    assert "pending 1  delivered 1  failed 1  last error: HTTP 500" in line
    with bound.connect() as connection:
        assert (
            connection.execute(select(func.count()).select_from(webhook_deliveries)).scalar() == 3
        )


# --- the dashboard --------------------------------------------------------------------


def test_the_dashboard_shows_the_endpoints_and_the_failed_deliveries(
    db_app: Flask, runner: FlaskCliRunner, bound: Engine
) -> None:
    client = db_app.test_client()
    assert sign_in(client, new_key(db_app)).status_code == 303
    page = client.get(f"/admin/{SITE}?lang=en").get_data(as_text=True)
    assert "No webhook endpoints: add one with flask webhooks add." in page
    add(runner, "https://hooks.example.com/zgoda")
    append_event(bound, make_event(consent_id="11111111-0000-4000-8000-000000000000"))
    append_event(bound, make_event(consent_id="22222222-0000-4000-8000-000000000000"))
    with bound.begin() as connection:
        connection.execute(
            webhook_deliveries.update()
            .where(webhook_deliveries.c.consent_id.startswith("2222"))
            .values(failed_at=NOW, attempts=31, last_error="HTTP 410")
        )
    page = client.get(f"/admin/{SITE}?lang=en").get_data(as_text=True)
    section = page.split('id="webhooks-h"', 1)[1].split("</section>", 1)[0]
    endpoints, failures = section.split('class="webhook-failures"')
    cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", endpoints, re.S)
    assert cells[-5:] == ["https://hooks.example.com/zgoda", "1", "0", "1", "HTTP 410"]
    assert "22222222-0000-4000-8000-000000000000 <small>#2</small>" in failures
    assert "31" in failures and "HTTP 410" in failures
    assert "11111111" not in failures
    polish = client.get(f"/admin/{SITE}?lang=pl").get_data(as_text=True)
    assert "Webhooki" in polish and "Ostatni błąd" in polish


def test_the_test_command_sends_a_signed_event_and_names_a_failure(
    runner: FlaskCliRunner, bound: Engine
) -> None:
    # Imported here: that module imports make_event from this one.
    from tests.test_webhooks_receiver import Received, receiver

    url = f"http://127.0.0.1:{(port := free_port())}/hook"
    secret = add(runner, url)
    endpoint_id = _endpoints(bound)[0].id
    down = runner.invoke(args=["webhooks", "test", endpoint_id, "--timeout", "2"])
    assert down.exit_code == 1
    assert f"the test event to {url} failed: not reached" in down.output
    received = Received(secret, delay=0)
    with receiver(port, received):
        result = runner.invoke(args=["webhooks", "test", endpoint_id])
    assert result.exit_code == 0, result.output
    ((message_id, event),) = received.all
    assert f"Delivered test event {message_id}" in result.output
    assert event["type"] == "webhook.test" and event["data"] == {"site": SITE}
    assert outbox(bound) == []  # not a consent: nothing queued


def test_an_erased_consent_leaves_no_trace_in_the_outbox(
    runner: FlaskCliRunner, db_app: Flask, bound: Engine
) -> None:
    add(runner)
    consent_id = make_event().consent_id
    append_event(bound, make_event())
    append_event(bound, make_event(consent_id="00000000-0000-4000-8000-000000000001"))
    with bound.begin() as connection:  # the first event's delivery was made already
        first = min(row.id for row in outbox(bound))
        connection.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == first)
            .values(delivered_at=NOW)
        )
    append_event(bound, make_event(action="withdraw"))  # the same consent id, still to send
    with db_app.app_context():
        assert (
            erase_consent(
                bound, SITE, consent_id, erase_event(notice_registry().get_or_404(SITE), NOW)
            )
            == 2
        )
    rows = outbox(bound)
    assert not any(consent_id in (row.consent_id + row.payload) for row in rows)
    erased = [row for row in rows if row.consent_id == ERASED]
    assert len(erased) == 2 and all(row.payload == "" for row in erased)
    assert [row.last_error for row in erased] == [
        None,
        ERASED_BEFORE_DELIVERY,
    ]  # delivered, then not sent
    other = [row for row in rows if row.consent_id != ERASED]
    assert len(other) >= 1 and all(row.failed_at is None for row in other)

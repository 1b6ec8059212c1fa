"""Consent writes are rate limited per client network; Redis shares limits between instances."""

from __future__ import annotations

import time
import uuid

import pytest
from flask import Flask
from limits import parse_many

from tests.conftest import AppFactory
from zgoda.config import BY_NAME
from zgoda.web.rate_windows import LocalWindows

REDIS_URL = "redis://127.0.0.1:6379/0"
LIMIT = "3 per minute"


def consent_body(app: Flask) -> dict[str, str]:
    version = app.test_client().get("/api/v1/sites/optingo/banner").get_json()["notice_version"]
    return {"action": "reject_all", "notice_version": version, "locale": "pl"}


def post(app: Flask, address: str) -> int:
    response = app.test_client().post(
        "/api/v1/sites/optingo/consents",
        json=consent_body(app),
        environ_base={"REMOTE_ADDR": address},
    )
    if response.status_code == 429:
        body = response.get_json()
        assert body["error"] == "too_many_requests" and body["status"] == 429
    return response.status_code


def test_limit_is_per_client_address(app_factory: AppFactory) -> None:
    app = app_factory(CONSENT_RATE_LIMIT=LIMIT)
    assert [post(app, "198.51.100.7") for _ in range(4)] == [201, 201, 201, 429]
    assert post(app, "198.51.100.8") == 201  # another visitor is not affected


def test_an_ipv6_visitor_is_counted_by_its_64_network(app_factory: AppFactory) -> None:
    app = app_factory(CONSENT_RATE_LIMIT=LIMIT)
    # One host may use any address of its /64: rotating through them does not help it.
    same_network = ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"]
    assert [post(app, address) for address in same_network] == [201, 201, 201]
    assert post(app, "2001:db8:1:2::4") == 429
    assert post(app, "2001:db8:1:3::1") == 201  # the next /64 is another visitor


def test_every_limit_of_several_applies(app_factory: AppFactory) -> None:
    app = app_factory(CONSENT_RATE_LIMIT="5 per minute; 2 per hour")
    assert [post(app, "198.51.100.9") for _ in range(3)] == [201, 201, 429]


def test_instances_share_limits_through_redis(app_factory: AppFactory) -> None:
    prefix = f"zgoda-test-{uuid.uuid4().hex}"
    shared = {"RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix}
    first = app_factory(CONSENT_RATE_LIMIT=LIMIT, **shared)
    second = app_factory(CONSENT_RATE_LIMIT=LIMIT, **shared)
    assert [post(first, "203.0.113.9"), post(second, "203.0.113.9")] == [201, 201]
    assert [post(first, "203.0.113.9"), post(second, "203.0.113.9")] == [201, 429]


def test_without_redis_each_instance_counts_alone(app_factory: AppFactory) -> None:
    first = app_factory(CONSENT_RATE_LIMIT=LIMIT)
    second = app_factory(CONSENT_RATE_LIMIT=LIMIT)
    assert [post(first, "192.0.2.1") for _ in range(3)] == [201, 201, 201]
    assert post(second, "192.0.2.1") == 201


def test_a_local_window_counts_again_once_it_has_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1_000_040.0]  # 20 s into the minute-long window from 1_000_020
    monkeypatch.setattr(time, "time", lambda: clock[0])
    windows = LocalWindows(parse_many("2 per minute"))
    assert [windows.hit("192.0.2.5") for _ in range(3)] == [None, None, 1_000_080.0]
    assert windows.hit("192.0.2.6") is None  # another address counts apart
    clock[0] += 40  # the next window
    assert [windows.hit("192.0.2.5") for _ in range(3)] == [None, None, 1_000_140.0]


def test_local_windows_forget_addresses_whose_window_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    monkeypatch.setattr(LocalWindows, "PRUNE_AT", 3)
    windows = LocalWindows(parse_many("1 per second"))
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        assert windows.hit(address) is None
    clock[0] += 1
    assert windows.hit("192.0.2.4") is None
    assert len(windows._windows) == 1  # the three ended windows were dropped
    assert windows.hit("192.0.2.4") == 1_000_002.0
    for address in ("192.0.2.5", "192.0.2.6", "192.0.2.7"):
        assert windows.hit(address) is None
    # Over the mark again within the same window: the current window's counts all stand.
    assert len(windows._windows) == 4
    assert windows.hit("192.0.2.5") == 1_000_002.0


def test_local_windows_count_every_limit_and_answer_the_latest_reset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1_000_020.5]  # the start of a minute, half a second in
    monkeypatch.setattr(time, "time", lambda: clock[0])
    windows = LocalWindows(parse_many("2 per second; 3 per minute"))
    assert [windows.hit("192.0.2.8") for _ in range(3)] == [None, None, 1_000_021.0]
    clock[0] += 1
    assert windows.test("192.0.2.8") is None  # testing does not count
    assert [windows.hit("192.0.2.8") for _ in range(2)] == [None, 1_000_080.0]
    assert windows.test("192.0.2.8") == 1_000_080.0
    clock[0] += 60
    assert windows.hit("192.0.2.8") is None


def test_the_default_limit_lets_a_shared_network_record_its_choices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An office or carrier NAT: hundreds of visitors behind one address, arriving together."""
    clock = [1_000_020.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    windows = LocalWindows(parse_many(BY_NAME["CONSENT_RATE_LIMIT"].default))
    nat = "198.51.100.1/32"
    # A crowd of 20 choosing within one second, then 8 a second for the rest of the minute.
    assert all(windows.hit(nat) is None for _ in range(20))
    for _second in range(59):
        clock[0] += 1
        assert all(windows.hit(nat) is None for _ in range(8))
    # A flood is stopped: at most 20 in a second, and at most 600 in a minute.
    clock[0] += 1  # the next minute, 1_000_080 to 1_000_140
    assert [windows.hit(nat) is None for _ in range(21)] == [True] * 20 + [False]
    recorded = 20
    for _second in range(40):
        clock[0] += 1
        recorded += sum(windows.hit(nat) is None for _ in range(20))
    assert recorded == 600
    assert windows.hit(nat) == 1_000_140

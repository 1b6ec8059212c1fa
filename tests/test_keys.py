"""Per-site API keys: `flask keys create/list/revoke`, stored as a hash, checked in constant time."""

from __future__ import annotations

import hmac
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import Engine, select

from zgoda.errors import Forbidden, Unauthorized
from zgoda.store.db import engine as app_engine
from zgoda.store.keys import authenticate, create_key, list_keys
from zgoda.store.tables import api_keys
from zgoda.web.errors import status_of

SITE = "optingo"


@pytest.fixture
def runner(db_app: Flask) -> FlaskCliRunner:
    return db_app.test_cli_runner()


@pytest.fixture
def bound(db_app: Flask) -> Engine:
    with db_app.app_context():
        return app_engine()


def create(runner: FlaskCliRunner, *args: str) -> str:
    result = runner.invoke(args=["keys", "create", *args])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_create_prints_the_key_once_and_stores_only_its_hash(
    runner: FlaskCliRunner, bound: Engine
) -> None:
    result = runner.invoke(args=["keys", "create", SITE, "--label", "auditor"])
    assert result.exit_code == 0
    key = result.stdout.strip()
    assert key.startswith("zk_") and len(key.splitlines()) == 1
    assert "cannot be shown again" in result.stderr
    _, key_id, secret = key.split("_", 2)
    with bound.connect() as connection:
        row = connection.execute(select(api_keys)).one()
    assert (row.key_id, row.site_id, row.label) == (key_id, SITE, "auditor")
    assert secret not in "".join(str(value) for value in row)
    assert len(row.secret_hash) == 64
    assert authenticate(bound, SITE, key).key_id == key_id


def test_create_refuses_an_unknown_site(runner: FlaskCliRunner, bound: Engine) -> None:
    result = runner.invoke(args=["keys", "create", "no-such-site"])
    assert result.exit_code == 2
    assert "unknown site" in result.output
    assert list_keys(bound) == []


def test_list_shows_ids_sites_and_state_never_secrets(runner: FlaskCliRunner) -> None:
    assert runner.invoke(args=["keys", "list"]).output.strip() == "No API keys."
    first = create(runner, SITE, "--label", "auditor")
    second = create(runner, "xopero")
    listed = runner.invoke(args=["keys", "list"]).output
    for key in (first, second):
        assert key.split("_")[1] in listed
        assert key.split("_", 2)[2] not in listed
    assert "auditor" in listed and listed.count("active") == 2
    only_xopero = runner.invoke(args=["keys", "list", "xopero"]).output
    assert second.split("_")[1] in only_xopero and first.split("_")[1] not in only_xopero


@pytest.mark.parametrize("by", ["id", "whole key"])
def test_revoke_by_id_or_whole_key(runner: FlaskCliRunner, bound: Engine, by: str) -> None:
    key = create(runner, SITE)
    key_id = key.split("_")[1]
    result = runner.invoke(args=["keys", "revoke", key_id if by == "id" else key])
    assert result.exit_code == 0 and f"Revoked API key {key_id}" in result.output
    assert "revoked" in runner.invoke(args=["keys", "list"]).output
    with pytest.raises(Unauthorized, match="revoked"):
        authenticate(bound, SITE, key)
    again = runner.invoke(args=["keys", "revoke", key_id])
    assert again.exit_code == 1 and "no active API key" in again.output


@pytest.mark.parametrize(
    "presented", [None, "", "Bearer", "zk_only-two", "xx_abc_def", "zk_000000000000_secret"]
)
def test_malformed_or_unknown_keys_are_unauthorized(bound: Engine, presented: str | None) -> None:
    create_key(bound, SITE)
    with pytest.raises(Unauthorized) as raised:
        authenticate(bound, SITE, presented)
    assert status_of(raised.value) == 401


def test_another_sites_key_is_forbidden(bound: Engine) -> None:
    key = create_key(bound, "xopero")
    with pytest.raises(Forbidden) as raised:
        authenticate(bound, SITE, key)
    assert status_of(raised.value) == 403
    assert authenticate(bound, "xopero", key).site_id == "xopero"


def test_the_comparison_is_constant_time_even_for_an_unknown_id(
    bound: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = create_key(bound, SITE)
    compared: list[tuple[Any, Any]] = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    authenticate(bound, SITE, key)
    with pytest.raises(Unauthorized):
        authenticate(bound, SITE, key[:-1] + ("A" if key[-1] != "A" else "B"))
    with pytest.raises(Unauthorized):
        authenticate(bound, SITE, "zk_ffffffffffff_" + key.split("_", 2)[2])
    assert len(compared) == 3
    stored = {pair[0] for pair in compared[:2]}
    assert len(stored) == 1  # the stored hash of the one key, both times

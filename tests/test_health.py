"""/healthz and /readyz, as a load balancer probes them."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import text

from app import create_app
from tests.conftest import SITES, AppFactory
from zgoda.store.db import engine


def test_healthz_answers_without_touching_the_log(tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"})
    response = app.test_client().get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})
    assert response.headers["Cache-Control"] == "no-store"
    assert not (tmp_path / "none.db").exists()


def test_readyz_on_a_migrated_log_is_ready(db_app: Flask) -> None:
    response = db_app.test_client().get("/readyz")
    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "ready"
    assert body["checks"]["notices"] == {"ok": True, "sites": len(SITES)}
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["rate_limits"] == {"ok": True, "store": "memory"}


def test_readyz_names_a_schema_behind_the_newest_migration(db_app: Flask) -> None:
    with db_app.app_context(), engine().begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    response = db_app.test_client().get("/readyz")
    database = response.get_json()["checks"]["database"]
    assert response.status_code == 503
    assert database["ok"] is False and database["revision"] == "0001"
    assert "flask db upgrade" in database["problem"]


def test_readyz_names_a_log_that_cannot_be_reached(tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "cannot be read" in response.get_json()["checks"]["database"]["problem"]


def test_readyz_says_when_limits_fail_open_and_stays_ready(app_factory: AppFactory) -> None:
    app = app_factory(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1")
    client = app.test_client()
    version = client.get("/api/v1/sites/optingo/banner").get_json()["notice_version"]
    body = {"action": "reject_all", "notice_version": version, "locale": "pl"}
    assert client.post("/api/v1/sites/optingo/consents", json=body).status_code == 201
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["rate_limits"] == {
        "ok": True,
        "store": "shared",
        "failing_open": True,
    }

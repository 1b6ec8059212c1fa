"""Health for a load balancer: /healthz (the process answers) and /readyz (it can do its work).

Ready means: the notices are loaded, the consent log answers with its schema at the newest
migration, and the rate-limit store answers or the limits knowingly fail open (consents are
still recorded then, so that is ready, and said). Neither endpoint is rate-limited, and
neither touches the log beyond one read of the migration table.
"""

from __future__ import annotations

from typing import Any

from alembic.script import ScriptDirectory
from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from zgoda.notices.registry import notice_registry
from zgoda.store.db import database_url, engine
from zgoda.store.migrate import alembic_config
from zgoda.web.limits import app_limits

bp = Blueprint("health", __name__)

NO_STORE = {"Cache-Control": "no-store"}


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up and answering."""
    response = jsonify(status="ok")
    response.headers.update(NO_STORE)
    return response


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """200 when every check passes, 503 naming the one that did not."""
    checks = {
        "notices": {"ok": True, "sites": len(notice_registry().notices)},
        "database": _database(),
        "rate_limits": _rate_limits(),
    }
    ready = all(check["ok"] for check in checks.values())
    response = jsonify(status="ready" if ready else "not_ready", checks=checks)
    response.headers.update(NO_STORE)
    return response, 200 if ready else 503


def _database() -> dict[str, Any]:
    head = _head_revision()
    try:
        with engine().connect() as connection:
            current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as error:
        first_line = (str(error).splitlines() or [type(error).__name__])[0]
        return {"ok": False, "problem": f"the consent log cannot be read: {first_line}"[:300]}
    if current != head:
        return {
            "ok": False,
            "revision": current,
            "expected": head,
            "problem": "the schema is not at the newest migration: run `flask db upgrade`",
        }
    return {"ok": True, "revision": current}


def _head_revision() -> str | None:
    heads: dict[str, str | None] = current_app.extensions.setdefault("zgoda_migration_head", {})
    if "head" not in heads:  # the migration scripts are read once
        script = ScriptDirectory.from_config(alembic_config(database_url(current_app)))
        heads["head"] = script.get_current_head()
    return heads["head"]


def _rate_limits() -> dict[str, Any]:
    limits = app_limits()
    if limits.store is None:
        return {"ok": True, "store": "memory"}
    return {"ok": True, "store": "shared", "failing_open": limits.failing_open}

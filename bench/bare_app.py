"""The benchmark's references: the smallest Flask app, one small JSON answer, no database;
a POST whose JSON body is parsed and answered, no database; and the smallest durable write,
one row inserted and committed per POST.

The write references show the floor any consent write stands on: the same gunicorn and
database settings as Zgoda (SQLite in WAL mode with synchronous=FULL; PostgreSQL with
synchronous_commit on), but no validation, no hash chain, no token. They are used when the
benchmark sets BARE_SQLITE_PATH and BARE_POSTGRES_DSN (the table `bare_writes` made first).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

from flask import Flask, Response, jsonify, request

INSERT = "INSERT INTO bare_writes (body) VALUES ({})"
# One connection per thread of each worker, opened on its first write (after gunicorn's fork).
_connections = threading.local()


def _sqlite() -> sqlite3.Connection:
    if not hasattr(_connections, "sqlite"):
        connection = sqlite3.connect(os.environ["BARE_SQLITE_PATH"], timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        _connections.sqlite = connection
    return _connections.sqlite  # type: ignore[no-any-return]


def _postgres() -> Any:
    if not hasattr(_connections, "postgresql"):
        import psycopg

        _connections.postgresql = psycopg.connect(os.environ["BARE_POSTGRES_DSN"])
    return _connections.postgresql


def create_app() -> Flask:
    """A Flask app with GET /ping, POST /echo and POST /write/sqlite, /write/postgresql."""
    app = Flask(__name__)

    @app.get("/ping")
    def ping() -> Response:
        return jsonify(status="ok", service="bare")

    @app.post("/echo")
    def echo() -> tuple[Response, int]:
        # A POST's own cost: read and parse the same JSON body, answer 201 with JSON.
        body = request.get_json()
        return jsonify(status="received", fields=len(body)), 201

    @app.post("/write/<database>")
    def write(database: str) -> tuple[Response, int]:
        body = request.get_data(as_text=True)
        if database == "sqlite":
            connection = _sqlite()
            with connection:  # one transaction, committed (fsync) before the answer
                connection.execute(INSERT.format("?"), (body,))
        else:
            connection = _postgres()
            with connection.transaction():
                connection.execute(INSERT.format("%s"), (body,))
        return jsonify(status="written"), 201

    return app

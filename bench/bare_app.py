"""The benchmark's reference: the smallest Flask app, one small JSON answer, no database."""

from __future__ import annotations

from flask import Flask, Response, jsonify


def create_app() -> Flask:
    """A Flask app with one route, GET /ping."""
    app = Flask(__name__)

    @app.get("/ping")
    def ping() -> Response:
        return jsonify(status="ok", service="bare")

    return app

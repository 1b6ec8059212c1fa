"""The Zgoda application factory: `flask --app app run`."""

from __future__ import annotations

from typing import Any

from flask import Flask

from zgoda import cli, i18n
from zgoda.config import build_config, require_secret_key
from zgoda.notices.registry import NoticeRegistry
from zgoda.web import errors, pages, security


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config, extensions, blueprints and CLI; no I/O beyond reading notices."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(build_config(config))
    require_secret_key(app.config, debug=app.debug)

    NoticeRegistry.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    app.register_blueprint(pages.bp)
    return app

"""The Zgoda application factory: `zgoda run`, or `flask --app app run` in the repository."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from zgoda import banner, cli, i18n, logs, reload
from zgoda.config import build_config, check_settings
from zgoda.notices.registry import NoticeRegistry
from zgoda.store import db
from zgoda.web import (
    admin,
    api,
    compression,
    demo,
    embed,
    errors,
    export_api,
    health,
    limits,
    metrics,
    openapi,
    pages,
    preferences,
    receipts,
    request_log,
    security,
    sessions,
    site_embed,
    tokens_ext,
    urls,
)

csrf = CSRFProtect()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config, extensions, blueprints and CLI; no I/O beyond reading notices.

    The order matters where one step reads what another made:
    1. settings: parsed and checked before anything reads them;
    2. notices: loaded and validated once; the banners and consent rules are built from them;
    3. extensions: storage, tokens, headers, sessions, error pages, CSRF, limits;
    4. blueprints: the pages and the API;
    5. the command line.
    """
    with cli.startup_errors_reported():
        settings = build_config(config)
        app = Flask(
            __name__,
            instance_relative_config=True,
            template_folder=settings["TEMPLATES_DIR"],
            static_folder=settings["STATIC_DIR"],
        )
        app.config.from_mapping(settings)
        check_settings(app, deferred=cli.serving_settings_deferred())
        logs.init_app(app, quiet=cli.serving_settings_deferred())
        trust_proxies(app)
        request_log.init_app(app)  # outside ProxyFix: it sees the whole request

        registry = NoticeRegistry.init_app(app)
        i18n.init_app(app)
        banner.init_app(app, registry.notices)
        reload.init_app(app)  # the notices and banners served as one snapshot
        embed.init_app(app)

        db.init_app(app)
        tokens_ext.init_app(app)
        security.init_app(app)
        compression.init_app(app)
        sessions.init_app(app)
        errors.init_app(app)
        urls.init_app(app)
        limits.init_app(app)
        csrf.init_app(app)
        csrf.exempt(api.bp)  # JSON, CORS-checked, no cookies: the hosted forms carry the tokens
        csrf.exempt(receipts.open_with_token)  # a customer site posts a consent token to it

        for blueprint in (
            pages.bp,
            api.bp,
            export_api.bp,
            openapi.bp,
            preferences.bp,
            receipts.bp,
            admin.bp,
            embed.bp,
            site_embed.bp,
            demo.bp,
            health.bp,
            metrics.bp,
        ):
            app.register_blueprint(blueprint)

        cli.init_app(app)
    return app


def trust_proxies(app: Flask) -> None:
    """Read the visitor's address and scheme from PROXY_HOPS proxies' X-Forwarded-* headers.

    Without proxies the headers are ignored: any client could write them.
    """
    hops = int(app.config["PROXY_HOPS"])
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

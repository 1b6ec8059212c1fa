"""Publishing edited notices without a restart, per site, all of a site's views at once.

`reload_notices(app)` reads NOTICES_DIR again. Each site's file is validated on its own: a
valid one replaces that site's notice, a broken one is refused with its error (file, line,
field) and the site keeps serving its previous version; a folder that is gone takes its
site with it. The banners are built from the result and published with the notices and
their findings as one snapshot (zgoda.notices.registry), so the banner, the pages and the
consent rules (keyed by the notice version) change together, and a request in flight keeps
the snapshot it started with.

How a running server hears of it: under gunicorn with gunicorn.conf.py (preload_app), a HUP to
the master reloads the notices there (`on_reload`) and forks fresh workers from it;
`flask notices reload --pid FILE` validates the files first and sends that HUP.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zgoda import metrics
from zgoda.banner import BannerConfig, build_banner
from zgoda.errors import NoticeError
from zgoda.notices.check import counts
from zgoda.notices.loader import LoadedNotice, load_notice
from zgoda.notices.model import LOCALES
from zgoda.notices.registry import (
    EXTENSION_KEY,
    NoticeRegistry,
    NoticeSnapshot,
    SnapshotView,
    checked,
)

if TYPE_CHECKING:
    from flask import Flask

BANNERS = "zgoda_banners"  # the banner of each (site, language): zgoda.web.api reads it
BANNER_DOCUMENTS = "zgoda_banner_documents"  # their JSON documents, built on first request


@dataclass
class ReloadReport:
    """What a reload did: versions published, sites refused with their error, sites gone."""

    published: dict[str, tuple[str | None, str]] = field(default_factory=dict)  # old, new
    refused: dict[str, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything served is different now."""
        return bool(self.published or self.removed)


def init_app(app: Flask) -> None:
    """Serve the start-up notices and banners as the first snapshot, through views in
    app.extensions that follow every later one."""
    registry: NoticeRegistry = app.extensions[EXTENSION_KEY]
    first = registry.latest
    banners: dict[tuple[str, str], BannerConfig] = app.extensions[BANNERS]
    registry.publish(NoticeSnapshot(first.notices, first.findings, _derived(banners)))
    for name in (BANNERS, BANNER_DOCUMENTS):
        app.extensions[name] = SnapshotView(registry, name)


def reload_notices(app: Flask) -> ReloadReport:
    """Read NOTICES_DIR again and publish what validates, per site; log what happened."""
    registry: NoticeRegistry = app.extensions[EXTENSION_KEY]
    old = registry.latest
    report = ReloadReport()
    notices: dict[str, LoadedNotice] = {}
    directory = Path(app.config["NOTICES_DIR"])
    site_dirs = (
        sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
        if directory.is_dir()
        else []
    )
    if not directory.is_dir():
        report.refused["*"] = f"{directory}: notices folder does not exist"
        notices.update(old.notices)
    for site_dir in site_dirs:
        site = site_dir.name
        previous = old.notices.get(site)
        try:
            loaded = load_notice(site_dir)
        except NoticeError as error:
            report.refused[site] = str(error)
            if previous is not None:
                notices[site] = previous  # the last good version keeps serving
            continue
        notices[site] = loaded
        if previous is None or previous.version != loaded.version:
            report.published[site] = (previous.version if previous else None, loaded.version)
    report.removed = sorted(set(old.notices) - set(notices))
    if report.changed:
        snapshot = _snapshot(app, notices, old)
        registry.publish(snapshot)
        metrics.set_findings(
            {site: counts(snapshot.findings[site]) for site in report.published},
            gone=report.removed,
        )
    _log(app.logger, report)
    return report


def _snapshot(app: Flask, notices: dict[str, LoadedNotice], old: NoticeSnapshot) -> NoticeSnapshot:
    """The new snapshot; an unchanged site keeps its findings and banners as they were."""
    kept = {site for site, loaded in notices.items() if old.notices.get(site) is loaded}
    findings = {site: old.findings[site] for site in kept}
    findings.update(checked({s: n for s, n in notices.items() if s not in kept}))
    old_banners: dict[tuple[str, str], BannerConfig] = dict(old.derived.get(BANNERS, {}))
    banners: dict[tuple[str, str], BannerConfig] = {}
    with app.app_context():
        for site, loaded in notices.items():
            for locale in LOCALES:
                key = (site, locale)
                banners[key] = (
                    old_banners[key]
                    if site in kept and key in old_banners
                    else build_banner(loaded, locale)
                )
    return NoticeSnapshot(dict(notices), findings, _derived(banners))


def _derived(banners: dict[tuple[str, str], BannerConfig]) -> dict[str, Any]:
    return {BANNERS: banners, BANNER_DOCUMENTS: {}}


def _log(logger: logging.Logger, report: ReloadReport) -> None:
    for site, (old, new) in report.published.items():
        logger.info("notices reload: %s published, version %s -> %s", site, old or "-", new)
        metrics.NOTICE_RELOADS.labels("published").inc()
    for site in report.removed:
        logger.info("notices reload: %s removed (its folder is gone)", site)
    for site, error in report.refused.items():
        logger.error("notices reload: %s refused, the previous version serves on: %s", site, error)
        metrics.NOTICE_RELOADS.labels("refused").inc()
    if not report.changed and not report.refused:
        logger.info("notices reload: nothing changed")
        metrics.NOTICE_RELOADS.labels("unchanged").inc()

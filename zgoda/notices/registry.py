"""The app's notices, loaded and checked once when the app is created."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from flask import abort, current_app

from zgoda import metrics
from zgoda.notices.check import Finding, check_notice, counts
from zgoda.notices.loader import LoadedNotice, load_notices

if TYPE_CHECKING:
    from flask import Flask

EXTENSION_KEY = "zgoda_notices"


class NoticeRegistry:
    """Every site's validated notice and its completeness findings."""

    def __init__(self, notices: dict[str, LoadedNotice]):
        self.notices = notices
        self.findings: dict[str, list[Finding]] = {
            site_id: check_notice(site_id, loaded.notice) for site_id, loaded in notices.items()
        }

    @classmethod
    def init_app(cls, app: Flask) -> NoticeRegistry:
        """Load `NOTICES_DIR`, log the findings once, and attach the registry to `app`."""
        registry = cls(load_notices(Path(app.config["NOTICES_DIR"])))
        for site_id, findings in registry.findings.items():
            for finding in findings:
                app.logger.info("notice %s: %s (fix: %s)", site_id, finding, finding.fix)
        metrics.set_findings({site: counts(found) for site, found in registry.findings.items()})
        app.extensions[EXTENSION_KEY] = registry
        return registry

    def get_or_404(self, site_id: str) -> LoadedNotice:
        """The site's notice, or a 404 for an unknown site."""
        loaded = self.notices.get(site_id)
        if loaded is None:
            # The API shows the description; the HTML error page says only "not found".
            abort(404, description=f"there is no site {site_id!r}")
        return loaded


def notice_registry() -> NoticeRegistry:
    """The registry of the current app."""
    registry: NoticeRegistry = current_app.extensions[EXTENSION_KEY]
    return registry

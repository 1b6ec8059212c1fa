"""The app's notices: loaded and checked when the app is created, replaced whole on a reload.

What is served from the notices (the notices, their findings, and what the layers above
build from them: the banners, their documents) is one immutable `NoticeSnapshot`. A reload
(zgoda.reload) builds a new one and publishes it with one assignment, and a request keeps
the snapshot it first read until it ends, so no request sees part of an old notice and part
of a new one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import abort, current_app, g, has_request_context

from zgoda import metrics
from zgoda.notices.check import Finding, check_notice, counts
from zgoda.notices.loader import LoadedNotice, load_notices

if TYPE_CHECKING:
    from flask import Flask

EXTENSION_KEY = "zgoda_notices"
_PINNED = "zgoda_notice_snapshot"  # the snapshot a request keeps, in flask.g


@dataclass(frozen=True)
class NoticeSnapshot:
    """Every site's notice and findings, and what is built from them, served together."""

    notices: dict[str, LoadedNotice]  # never changed once published
    findings: dict[str, list[Finding]]
    # Built from these notices by the layers above, by name ("zgoda_banners"); caches here
    # (a dict made empty with the snapshot) start afresh with each new snapshot.
    derived: Mapping[str, Any] = field(default_factory=dict)


def checked(notices: Mapping[str, LoadedNotice]) -> dict[str, list[Finding]]:
    """The completeness findings of each notice."""
    return {site_id: check_notice(site_id, loaded.notice) for site_id, loaded in notices.items()}


class NoticeRegistry:
    """The current snapshot of every site's validated notice and its findings."""

    def __init__(self, notices: dict[str, LoadedNotice]):
        self._current = NoticeSnapshot(notices, checked(notices))

    @property
    def snapshot(self) -> NoticeSnapshot:
        """The snapshot being served; within a request, the one it first read."""
        if not has_request_context():
            return self._current
        pinned: NoticeSnapshot | None = g.get(_PINNED)
        if pinned is None:
            pinned = self._current
            setattr(g, _PINNED, pinned)
        return pinned

    @property
    def latest(self) -> NoticeSnapshot:
        """The snapshot published last (what a new request will read)."""
        return self._current

    def publish(self, snapshot: NoticeSnapshot) -> None:
        """Serve `snapshot` from now on: one assignment, so readers see the old or the new."""
        self._current = snapshot

    @property
    def notices(self) -> dict[str, LoadedNotice]:
        """Every site's notice, by site id."""
        return self.snapshot.notices

    @property
    def findings(self) -> dict[str, list[Finding]]:
        """Every site's completeness findings, by site id."""
        return self.snapshot.findings

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


class SnapshotView(MutableMapping[Any, Any]):
    """One derived mapping of whichever snapshot the reader is served (app.extensions keeps
    this view under the mapping's name, so its readers need not know about reloads)."""

    def __init__(self, registry: NoticeRegistry, name: str):
        self._registry = registry
        self._name = name

    def _mapping(self) -> MutableMapping[Any, Any]:
        mapping: MutableMapping[Any, Any] = self._registry.snapshot.derived[self._name]
        return mapping

    def __getitem__(self, key: Any) -> Any:
        return self._mapping()[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._mapping()[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._mapping()[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())


def notice_registry() -> NoticeRegistry:
    """The registry of the current app."""
    registry: NoticeRegistry = current_app.extensions[EXTENSION_KEY]
    return registry

"""Who a host belongs to and what it does, from Ghostery's tracker database (npm
@ghostery/trackerdb, installed by `npm ci`; data CC BY-NC-SA 4.0, credited in the README).

Nothing here is a list of trackers: a host the database does not know is "unknown".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from zgoda.config import ROOT

TRACKERDB = ROOT / "node_modules" / "@ghostery" / "trackerdb" / "dist" / "trackerdb.json"
UNKNOWN = "unknown"
# Ghostery's categories that store or read on the device for something other than the
# service the visitor asked for: these need consent (ePrivacy Art. 5(3)).
TRACKING_CATEGORIES = frozenset(
    {"advertising", "pornvertising", "site_analytics", "social_media", "customer_interaction"}
)
# The purpose of a notice a category suggests, for the notice patch (Zgoda's usual ids).
SUGGESTED_PURPOSE = {
    "advertising": "advertising",
    "pornvertising": "advertising",
    "site_analytics": "statistics",
    "social_media": "advertising",
    "customer_interaction": "functional",
    "audio_video_player": "functional",
    "utilities": "functional",
    "consent": "necessary",
    "hosting": "necessary",
}


@dataclass(frozen=True)
class Classification:
    """A host's vendor and category; both "unknown" when the database does not know it."""

    vendor: str
    category: str
    tracker: str = UNKNOWN  # the database's name for the service (e.g. Google Analytics)

    @property
    def known(self) -> bool:
        """Whether the database knew the host."""
        return self.category != UNKNOWN

    @property
    def tracking(self) -> bool:
        """Whether the category needs consent before anything is stored or read."""
        return self.category in TRACKING_CATEGORIES

    @property
    def suggested_purpose(self) -> str | None:
        """The notice purpose this category belongs under, if any."""
        return SUGGESTED_PURPOSE.get(self.category)


UNCLASSIFIED = Classification(UNKNOWN, UNKNOWN)


@dataclass(frozen=True)
class TrackerDatabase:
    """The database's domains, each with its pattern's name, category and organisation."""

    domains: dict[str, Classification]
    source: str  # "@ghostery/trackerdb <version>", or why there is none

    def host(self, host: str) -> Classification:
        """The classification of `host` or of the nearest parent domain the database knows."""
        labels = host.lower().rstrip(".").split(".")
        for start in range(len(labels) - 1):
            found = self.domains.get(".".join(labels[start:]))
            if found is not None:
                return found
        return UNCLASSIFIED


def read_database(path: Path) -> TrackerDatabase:
    """Parse trackerdb.json at `path`; an absent file gives an empty database."""
    if not path.is_file():
        return TrackerDatabase({}, f"none ({path} is missing: run `npm ci`)")
    data = json.loads(path.read_text("utf-8"))
    organizations = data.get("organizations", {})
    patterns = data.get("patterns", {})
    domains: dict[str, Classification] = {}
    for domain, pattern_id in data.get("domains", {}).items():
        pattern = patterns.get(pattern_id)
        if pattern is None:
            continue
        organization = organizations.get(pattern.get("organization") or "", {})
        domains[domain] = Classification(
            vendor=organization.get("name") or pattern.get("name") or UNKNOWN,
            category=pattern.get("category") or UNKNOWN,
            tracker=pattern.get("name") or UNKNOWN,
        )
    package = path.parent.parent / "package.json"
    version = (
        json.loads(package.read_text("utf-8")).get("version", "?") if package.is_file() else "?"
    )
    return TrackerDatabase(domains, f"@ghostery/trackerdb {version}")


@lru_cache(maxsize=1)
def tracker_database() -> TrackerDatabase:
    """The installed database, read once per process."""
    return read_database(TRACKERDB)

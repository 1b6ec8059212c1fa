"""A scan of one site against its notice: run the browser, compare, and say what was found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from zgoda.notices.loader import LoadedNotice
from zgoda.scan.classify import TrackerDatabase, tracker_database
from zgoda.scan.crawl import run_scan
from zgoda.scan.findings import SEVERITIES, ScanFinding, compare, tally
from zgoda.scan.limits import ScanLimits
from zgoda.scan.observations import ScanRun


@dataclass(frozen=True)
class ScanReport:
    """What a scan of a site saw and found, against which notice version and database."""

    site_id: str
    notice_version: str
    run: ScanRun
    findings: list[ScanFinding]
    database: str  # where the classification came from

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (the `--format json` output)."""
        return {
            "site": self.site_id,
            "notice_version": self.notice_version,
            "url": self.run.url,
            "started_at": _iso(self.run.started_at),
            "finished_at": _iso(self.run.finished_at),
            "classification": self.database,
            "counts": tally(self.findings),
            "pages": list(self.run.pages),
            "notes": list(self.run.notes),
            "findings": [finding.as_dict() for finding in self.findings],
            "observations": [o.as_dict() for o in self.run.observations],
        }

    def text(self) -> str:
        """The report for a reader: a summary line, then each finding with its fix."""
        counts = tally(self.findings)
        summary = ", ".join(f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}" for s in SEVERITIES)
        states = len(self.run.observations)
        lines = [
            f"{self.site_id}  {self.run.url}  (notice version {self.notice_version}): {summary}",
            f"  {len(self.run.pages)} page(s), {states} page state(s) in "
            f"{self.run.finished_at - self.run.started_at:.1f} s; classification: {self.database}",
        ]
        lines += [f"  note: {note}" for note in self.run.notes]
        for finding in self.findings:
            lines += [
                f"  {finding.severity}  {finding.kind}  {finding.subject}",
                f"      page {finding.page} ({finding.state})"
                + (f", seen {finding.occurrences} times" if finding.occurrences > 1 else ""),
                f"      {finding.evidence}",
                f"      [{finding.reference}]",
                f"      fix: {finding.fix}",
            ]
        return "\n".join(lines)


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


def scan_site(
    loaded: LoadedNotice,
    url: str,
    extra_pages: int,
    limits: ScanLimits,
    database: TrackerDatabase | None = None,
) -> ScanReport:
    """Scan `url` (and up to `extra_pages` linked pages) and compare it with the site's notice."""
    database = database or tracker_database()
    run = run_scan(url, extra_pages, limits)
    findings = compare(run, loaded.notice, database)
    return ScanReport(loaded.site_id, loaded.version, run, findings, database.source)

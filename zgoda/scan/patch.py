"""A notice patch: what the scan found, declared under the purpose its classification suggests.

The patch is YAML in the notice's own shape (cookies.purposes[].cookies[], recipients[]),
for the owner to review and merge by hand: descriptions are left for them to write, and
anything the database could not classify goes under `unclassified` rather than a guess.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import yaml

from zgoda.scan.classify import SUGGESTED_PURPOSE
from zgoda.scan.findings import ScanFinding
from zgoda.scan.observations import ObservedCookie, ScanRun

UNCLASSIFIED_PURPOSE = "unclassified"


def _duration(cookie: ObservedCookie, seen_at: float) -> Any:
    days = cookie.lifetime_days(seen_at)
    return "session" if days is None else {"value": max(1, round(days)), "unit": "day"}


def _observed(run: ScanRun) -> dict[str, tuple[ObservedCookie, float]]:
    """Each cookie name with the longest-lived instance seen, and when it was seen."""
    found: dict[str, tuple[ObservedCookie, float]] = {}
    for observation in run.observations:
        for cookie in observation.cookies:
            days = cookie.lifetime_days(observation.seen_at) or 0.0
            kept = found.get(cookie.name)
            if kept is None or days > (kept[0].lifetime_days(kept[1]) or 0.0):
                found[cookie.name] = (cookie, observation.seen_at)
    return found


def notice_patch(site_id: str, run: ScanRun, findings: list[ScanFinding]) -> str:
    """The YAML patch for `site_id` declaring what `findings` say the notice lacks."""
    observed = _observed(run)
    purposes: dict[str, list[dict[str, Any]]] = {}
    for finding in findings:
        if finding.kind not in ("undeclared_cookie", "lifetime_exceeded"):
            continue
        name = finding.subject.removeprefix("cookie ")
        if name not in observed:
            continue
        cookie, seen_at = observed[name]
        purpose = finding.purpose or _suggested(finding) or UNCLASSIFIED_PURPOSE
        entry: dict[str, Any] = {
            "name": name,
            "provider": finding.vendor if finding.vendor != "unknown" else "TODO: who sets it",
            "party": "first" if cookie.first_party else "third",
            "duration": _duration(cookie, seen_at),
            "description": {"pl": "TODO", "en": "TODO"},
        }
        if finding.kind == "lifetime_exceeded":
            entry["description"] = {"pl": "TODO (okres zmieniony)", "en": "TODO (lifetime changed)"}
        purposes.setdefault(purpose, []).append(entry)
    hosts = sorted({f.subject for f in findings if f.kind == "unnamed_recipient"})
    patch: dict[str, Any] = {}
    if purposes:
        patch["cookies"] = {
            "purposes": [
                {"id": purpose, "cookies": entries} for purpose, entries in purposes.items()
            ]
        }
    if hosts:
        patch["recipients"] = [
            {
                "category": {"pl": "TODO", "en": "TODO"},
                "role": "processor",
                "names": [_recipient_name(host, findings)],
            }
            for host in hosts
        ]
    when = datetime.fromtimestamp(run.finished_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = (
        f"# Notice patch for {site_id}, from the scan of {run.url} at {when}.\n"
        f"# Review it, write the TODOs, and merge it into notices/{site_id}/notice.yaml by hand;\n"
        f"# `{UNCLASSIFIED_PURPOSE}` holds what the tracker database could not classify.\n"
    )
    if not patch:
        return header + "# Nothing to add: the notice declares everything the scan saw.\n"
    body = yaml.safe_dump(patch, allow_unicode=True, sort_keys=False, default_flow_style=False)
    return header + body


def _suggested(finding: ScanFinding) -> str | None:
    return SUGGESTED_PURPOSE.get(finding.category)


def _recipient_name(host: str, findings: list[ScanFinding]) -> str:
    vendor = next((f.vendor for f in findings if f.subject == host and f.vendor != "unknown"), None)
    return f"{vendor} ({host})" if vendor else host

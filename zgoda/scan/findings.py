"""Declared versus observed: what a scan saw, held against the site's notice.

A cookie or storage key belongs to a purpose when the notice declares it there (a declared
name ending in `*` is a prefix); an undeclared one, and a third-party request, belong to a
consent purpose when the tracker database puts its host in a tracking category. A request
shaped like a pixel or beacon, or carrying cookies to another site, counts as tracking
whatever the database says (EDPB Guidelines 2/2023: pixels are in scope of Art. 5(3)).
Each finding is reported once, at the first page and state it was seen in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from zgoda.consent.rules import lifetime
from zgoda.notices.model import Duration, Notice
from zgoda.scan.classify import Classification, TrackerDatabase
from zgoda.scan.observations import ObservedCookie, ScanRun, ScanState, StateObservation

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
VIOLATIONS = frozenset({"error", "warning"})  # what --strict fails on
TOOL_STORAGE_PREFIX = "zgoda:"  # the banner's own keys: the consent mechanism itself
LIFETIME_SLACK_DAYS = 1.0  # clocks and rounding: a day over is not a finding

EPRIVACY = "ePrivacy Art. 5(3); art. 399 Prawo komunikacji elektronicznej"
PLANET49 = "CJEU C-673/17 Planet49"
REFERENCES = {
    "before_choice": f"{EPRIVACY}; {PLANET49} (prior, active consent)",
    "after_reject": f"{EPRIVACY} (nothing stored or read after a refusal)",
    "undeclared_cookie": f"GDPR Art. 13(1)(c); {PLANET49} (each cookie, its duration and access)",
    "undeclared_storage": f"{EPRIVACY}; GDPR Art. 13(1)(c)",
    "lifetime_exceeded": f"GDPR Art. 13(2)(a); {PLANET49} (cookie duration)",
    "declared_not_seen": "GDPR Art. 5(1)(a) (accurate information)",
    "unnamed_recipient": f"GDPR Art. 13(1)(e); {PLANET49} (third parties' access)",
}


@dataclass(frozen=True)
class ScanFinding:
    """One difference between the notice and the site, with its evidence and fix."""

    kind: str
    severity: Severity
    page: str
    state: str
    subject: str  # the cookie, storage key or host
    evidence: str
    reference: str
    fix: str
    purpose: str | None = None  # the purpose it belongs to or would belong to
    vendor: str = "unknown"
    category: str = "unknown"
    occurrences: int = 1

    def as_dict(self) -> dict[str, Any]:
        """The finding as JSON-ready fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanFinding:
        """A finding read back from `as_dict` output."""
        return cls(**data)


@dataclass(frozen=True)
class Declared:
    """A cookie the notice names, under its purpose."""

    name: str
    purpose: str
    required: bool
    duration: Duration | str | None  # "session", a Duration, or None when not stated
    provider: str

    def matches(self, name: str) -> bool:
        """Whether an observed cookie or key `name` is this declaration."""
        if self.name.endswith("*"):
            return name.startswith(self.name[:-1])
        return name == self.name


def declared_cookies(notice: Notice) -> list[Declared]:
    """Every cookie the notice's cookie policy names, in its order."""
    found = []
    for purpose in notice.cookies.purposes:
        if not isinstance(purpose.cookies, list):
            continue
        for cookie in purpose.cookies:
            duration = cookie.duration if isinstance(cookie.duration, Duration | str) else None
            found.append(
                Declared(cookie.name, purpose.id, purpose.required, duration, cookie.provider)
            )
    return found


def recipient_names(notice: Notice) -> list[str]:
    """Names the notice gives to those who receive data: recipients and cookie providers."""
    names = [d.provider for d in declared_cookies(notice)]
    if isinstance(notice.recipients, list):
        names += [name for recipient in notice.recipients for name in recipient.names]
    return [name.lower() for name in names]


class _Collector:
    def __init__(self) -> None:
        self.found: dict[tuple[str, str], ScanFinding] = {}

    def add(self, finding: ScanFinding) -> None:
        key = (finding.kind, finding.subject)
        if key in self.found:
            old = self.found[key]
            self.found[key] = ScanFinding(**{**old.as_dict(), "occurrences": old.occurrences + 1})
        else:
            self.found[key] = finding


def compare(run: ScanRun, notice: Notice, database: TrackerDatabase) -> list[ScanFinding]:
    """Every finding of `run` against `notice`, errors first."""
    declared = declared_cookies(notice)
    names = recipient_names(notice)
    collector = _Collector()
    seen: set[str] = set()
    for observation in run.observations:
        for cookie in observation.cookies:
            seen.add(cookie.name)
            _cookie_findings(collector, observation, cookie, declared, database)
        for stored in observation.storage:
            seen.add(stored.key)
            if not stored.key.startswith(TOOL_STORAGE_PREFIX):
                match = next((d for d in declared if d.matches(stored.key)), None)
                subject = f"{stored.area} {stored.key}"
                _purpose_findings(collector, observation, subject, match, None)
                if match is None:
                    collector.add(_finding("undeclared_storage", "warning", observation, subject,
                        f"{stored.area} key {stored.key!r} is not in the notice",
                        "declare the key under its purpose, or stop storing it"))  # fmt: skip
        for request in observation.requests:
            if request.host in run.consent_tool_hosts:
                continue
            kind = database.host(request.host)
            shape = ", ".join(
                s
                for s, on in (
                    ("pixel-like", request.pixel_like),
                    ("sent cookies", request.sent_cookies),
                )
                if on
            )
            tracking = kind.tracking or request.pixel_like or request.sent_cookies
            counts_here = observation.state is ScanState.BEFORE or (
                observation.state is ScanState.REJECTED and request.after_choice
            )
            if tracking and counts_here:
                evidence = f"{request.resource_type} request to {request.url}" + (
                    f" ({shape})" if shape else ""
                )
                _purpose_findings(
                    collector, observation, request.host, None, kind, evidence, tracking=True
                )
            if not _named(request.host, kind, names):
                collector.add(_finding("unnamed_recipient", "warning", observation, request.host,
                    f"{request.resource_type} request to {request.url}; the notice names no "
                    f"recipient for {request.host} ({kind.vendor})",
                    "name the recipient (Art. 13(1)(e)) or remove the request", None, kind))  # fmt: skip
    for declaration in declared:
        looks_like_cookie = " " not in declaration.name
        if looks_like_cookie and not any(declaration.matches(name) for name in seen):
            collector.add(ScanFinding("declared_not_seen", "info", run.url, "any",
                declaration.name, f"declared under {declaration.purpose!r}, seen in no state",
                REFERENCES["declared_not_seen"],
                "check the page that sets it was scanned; otherwise remove it from the notice",
                purpose=declaration.purpose))  # fmt: skip
    order = {severity: index for index, severity in enumerate(SEVERITIES)}
    return sorted(collector.found.values(), key=lambda f: order[f.severity])


def _cookie_findings(
    collector: _Collector,
    observation: StateObservation,
    cookie: ObservedCookie,
    declared: list[Declared],
    database: TrackerDatabase,
) -> None:
    match = next((d for d in declared if d.matches(cookie.name)), None)
    setter_host = urlsplit(cookie.set_by.split(" ", 1)[-1]).hostname if cookie.set_by else None
    host = cookie.domain.lstrip(".") if not cookie.first_party else setter_host
    kind = database.host(host) if host else Classification("unknown", "unknown")
    subject = f"cookie {cookie.name}"
    _purpose_findings(collector, observation, subject, match, kind)
    if match is None:
        collector.add(_finding("undeclared_cookie", "error", observation, subject,
            _describe(cookie, observation.seen_at), "declare it in the notice under "
            f"{kind.suggested_purpose or 'its purpose'}, with provider and lifetime", None, kind))  # fmt: skip
        return
    observed = cookie.lifetime_days(observation.seen_at)
    if isinstance(match.duration, Duration) and observed is not None:
        allowed = lifetime(match.duration).days
        if observed > allowed + LIFETIME_SLACK_DAYS:
            collector.add(_finding("lifetime_exceeded", "error", observation, subject,
                f"expires in {observed:.0f} days; the notice declares {match.duration.value} "
                f"{match.duration.unit.value}(s) ({allowed} days)",
                f"declare {observed:.0f} days, or shorten the cookie's expiry", match.purpose))  # fmt: skip
    elif match.duration == "session" and observed is not None:
        collector.add(_finding("lifetime_exceeded", "error", observation, subject,
            f"expires in {observed:.0f} days; the notice declares a session cookie",
            f"declare {observed:.0f} days, or make it a session cookie", match.purpose))  # fmt: skip


def _purpose_findings(
    collector: _Collector,
    observation: StateObservation,
    subject: str,
    match: Declared | None,
    kind: Classification | None,
    evidence: str | None = None,
    tracking: bool = False,
) -> None:
    """Something of a consent purpose present before any choice, or after "Reject all";
    `tracking` says it needs consent whatever the database says (a pixel, a beacon)."""
    purpose: str | None
    if match is not None:
        needs_consent, purpose = not match.required, match.purpose
    else:
        needs_consent = tracking or (kind is not None and kind.tracking)
        purpose = kind.suggested_purpose if kind is not None else None
    if not needs_consent or observation.state is ScanState.ACCEPTED:
        return
    label = f"declared under {purpose!r}" if match else f"{kind.vendor if kind else '?'} tracker"
    what = evidence or f"{subject} is present ({label})"
    if observation.state is ScanState.BEFORE:
        collector.add(_finding("before_choice", "error", observation, subject,
            f"{what} before any choice", "load it only after consent to its purpose "
            "(data-zgoda-purpose on the tag)", purpose, kind))  # fmt: skip
    else:
        collector.add(_finding("after_reject", "error", observation, subject,
            f"{what} after \"Reject all\"", "gate the tag on its purpose so a refusal "
            "stops it, and delete what it stored", purpose, kind))  # fmt: skip


def _finding(
    kind: str,
    severity: Severity,
    observation: StateObservation,
    subject: str,
    evidence: str,
    fix: str,
    purpose: str | None = None,
    classification: Classification | None = None,
) -> ScanFinding:
    return ScanFinding(
        kind=kind,
        severity=severity,
        page=observation.page,
        state=observation.state.value,
        subject=subject,
        evidence=evidence,
        reference=REFERENCES[kind],
        fix=fix,
        purpose=purpose,
        vendor=classification.vendor if classification else "unknown",
        category=classification.category if classification else "unknown",
    )


def _named(host: str, kind: Classification, names: list[str]) -> bool:
    """Whether the notice names the host, or the vendor or service the database gives it."""
    wanted = [host.lower()] + [v.lower() for v in (kind.vendor, kind.tracker) if kind.known]
    return any(w in name or (len(name) > 3 and name in w) for w in wanted for name in names)


def _describe(cookie: ObservedCookie, seen_at: float) -> str:
    days = cookie.lifetime_days(seen_at)
    lasting = "session" if days is None else f"{days:.0f} days"
    flags = ", ".join(
        f for f, on in (("Secure", cookie.secure), ("HttpOnly", cookie.http_only)) if on
    )
    party = "first-party" if cookie.first_party else "third-party"
    by = f", set by {cookie.set_by}" if cookie.set_by else ""
    return (
        f"{party} cookie {cookie.name} on {cookie.domain}{cookie.path}, {lasting}, "
        f"SameSite={cookie.same_site or '-'}{', ' + flags if flags else ''}{by}"
    )


def tally(findings: list[ScanFinding]) -> dict[str, int]:
    """How many findings of each severity."""
    return {severity: sum(f.severity == severity for f in findings) for severity in SEVERITIES}


def violations(findings: list[ScanFinding]) -> int:
    """How many findings --strict fails on (errors and warnings)."""
    return sum(f.severity in VIOLATIONS for f in findings)

"""The notice check: what a privacy lawyer would raise at a first reading of a notice.

Each finding has a severity: `error` where the notice breaks the law as published (an invalid
consent, a dead transfer mechanism, rights narrowed below the GDPR, cookies that need consent
switched on for everyone), `warning` where an item the GDPR requires is missing or unclear,
`info` for what good practice asks. Beside the gaps the data author marks (NotStated) and the
statements they record as no longer valid law (`outdated_statements`), rules find whatever
the data itself can express; a defect only a reading can find is recorded as a statement.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field

from zgoda.notices import review, review_cookies
from zgoda.notices.model import (
    Notice,
    NotStated,
    OutdatedStatement,
)
from zgoda.notices.review import OUTDATED, SECTION_OF_ITEM, Raw, Severity, strings

SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")

# Top-level items a notice may record as not stated: severity, article, message, fix.
GAP_OF_ITEM: dict[str, tuple[Severity, str, str, str]] = {
    "dpo": ("info", "Art. 13(1)(b), 37", "no data protection officer named", "say whether a DPO is appointed and, if so, how to reach them"),
    "recipients": ("warning", "Art. 13(1)(e)", "recipients not stated", "name the recipients or their categories"),
    "transfers": ("warning", "Art. 13(1)(f)", "transfers outside the EEA not stated", "say whether data leaves the EEA and on which safeguard"),
    "rights": ("warning", "Art. 13(2)(b)", "the data subject's rights not stated", "list the data subject's rights"),
    "supervisory_authorities": ("warning", "Art. 13(2)(d), 77", "the right to lodge a complaint with a supervisory authority is not stated", "state the right to complain to PUODO (ul. Stawki 2, 00-193 Warszawa)"),
    "requirement": ("warning", "Art. 13(2)(e)", "whether providing data is required is not stated", "say whether providing data is required and what follows if not"),
    "automated_decisions": ("warning", "Art. 13(2)(f), 22", "automated decisions and profiling not stated", "say whether decisions are made solely by automated means and whether data is profiled"),
    "data_categories": ("warning", "Art. 14(1)(d)", "categories of personal data not stated", "list the categories of personal data"),
    "data_sources": ("warning", "Art. 14(2)(f)", "sources of the data not stated", "name where data not collected from the person comes from"),
    "children": ("info", "Art. 8", "nothing said about children", "say whether the services are offered to children"),
    "security_measures": ("info", "Art. 32", "security measures not described", "describe the security measures, if the notice is to have that section"),
}  # fmt: skip


PLACEHOLDER = "TODO"


@dataclass(frozen=True)
class Finding:
    """One defect of a notice: how grave, where in the data, under which article, the fix."""

    site_id: str
    severity: Severity
    path: str
    article: str
    message: str
    fix: str
    section: str = field(default="")  # the privacy page's section; from `path` when empty

    def __post_init__(self) -> None:
        if not self.section:
            item = re.split(r"[.\[ ]", self.path, maxsplit=1)[0]
            object.__setattr__(self, "section", SECTION_OF_ITEM.get(item, "document"))

    def __str__(self) -> str:
        return f"{self.severity:<7}  {self.path:<40}  {self.article:<28}  {self.message}"

    def as_dict(self) -> dict[str, str]:
        """The finding as JSON-ready fields."""
        return asdict(self)


def check_notice(site_id: str, notice: Notice) -> list[Finding]:
    """Every finding about `notice`, errors first, each reported once."""
    seen: set[tuple[str, str, str]] = set()
    findings = []
    for finding in _findings(site_id, notice):
        key = (finding.path, finding.article, finding.message)
        if key not in seen:
            seen.add(key)
            findings.append(finding)
    return sorted(findings, key=lambda finding: SEVERITIES.index(finding.severity))


def counts(findings: Iterable[Finding]) -> dict[Severity, int]:
    """How many findings of each severity."""
    tally: dict[Severity, int] = dict.fromkeys(SEVERITIES, 0)
    for finding in findings:
        tally[finding.severity] += 1
    return tally


def _findings(site_id: str, notice: Notice) -> Iterator[Finding]:
    def make(severity: Severity, path: str, article: str, message: str, fix: str) -> Finding:
        return Finding(site_id, severity, path, article, message, fix)

    document = notice.document
    if isinstance(document.version, NotStated):
        yield make(
            "info",
            "document.version",
            "Art. 5(2), 12(1)",
            "no document version",
            "number the versions of the notice",
        )
    if isinstance(document.effective_date, NotStated):
        yield make(
            "info",
            "document.effective_date",
            "Art. 5(2), 12(1)",
            "no effective date",
            "say from when the notice applies",
        )
    if isinstance(notice.controller.registry_numbers, NotStated):
        yield make(
            "info",
            "controller.registry_numbers",
            "Art. 13(1)(a)",
            "no registry numbers",
            "give the KRS, NIP or REGON that identify the controller",
        )
    for item, (severity, article, message, fix) in GAP_OF_ITEM.items():
        if isinstance(getattr(notice, item), NotStated):
            yield make(severity, item, article, message, fix)
    for rule in (
        review.contact,
        review.purposes,
        review.special_categories,
        review.rights,
        review.complaint,
        review.transfers,
        review.automated,
        review_cookies.cookies,
        _placeholders,
    ):
        for severity, path, article, message, fix in rule(notice):
            yield make(severity, path, article, message, fix)
    yield from _outdated(site_id, notice)


def _placeholders(notice: Notice) -> Raw:
    """A `TODO` left in the data, as `flask notices new` writes them."""
    reported = set()
    for path, value in strings(notice.model_dump(mode="json", exclude_none=True), ""):
        path = re.sub(r"\.(pl|en)$", "", path)  # one finding for a Text, not one per language
        if value.startswith(PLACEHOLDER) and path not in reported:
            reported.add(path)
            yield (
                "warning",
                path,
                "Art. 12(1)",
                "a placeholder is not filled in",
                "replace the placeholder with what the notice states",
            )


def _outdated(site_id: str, notice: Notice) -> Iterator[Finding]:
    for index, statement in enumerate(notice.outdated_statements):
        severity, article, fix, section = OUTDATED[statement.kind]
        if statement.article and re.search(r"\b77\b", statement.article):
            section = "complaint"
        elif statement.article and re.search(r"\b1[5-9]\b|\b2[01]\b|12\(5\)", statement.article):
            section = "rights"
        yield Finding(
            site_id,
            _severity_of(statement, severity),
            f"outdated_statements[{index}] ({statement.kind})",
            statement.article or article,
            statement.explanation.en,
            fix,
            section,
        )


def _severity_of(statement: OutdatedStatement, default: Severity) -> Severity:
    stated = getattr(statement, "severity", None)
    return stated if stated in SEVERITIES else default

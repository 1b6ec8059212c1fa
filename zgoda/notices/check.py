"""The completeness check: which GDPR Art. 13/14 items a notice lacks, and what is outdated."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from zgoda.notices.model import (
    Notice,
    NotStated,
    OutdatedStatement,
    Right,
    Safeguard,
)

Severity = Literal["missing", "outdated"]

# Art. 13(2)(b) rights every notice must name; withdrawing consent is 13(2)(c).
REQUIRED_RIGHTS = (
    Right.ACCESS,
    Right.RECTIFICATION,
    Right.ERASURE,
    Right.RESTRICTION,
    Right.OBJECTION,
    Right.PORTABILITY,
)

# Top-level items that a notice may record as not stated, with the article requiring them.
ARTICLE_OF_ITEM = {
    "dpo": "Art. 13(1)(b)",
    "recipients": "Art. 13(1)(e)",
    "transfers": "Art. 13(1)(f)",
    "rights": "Art. 13(2)(b)",
    "supervisory_authorities": "Art. 13(2)(d)",
    "requirement": "Art. 13(2)(e)",
    "automated_decisions": "Art. 13(2)(f), 22",
    "data_categories": "Art. 14(1)(d)",
    "data_sources": "Art. 14(2)(f)",
    "children": "Art. 8",
    "security_measures": "Art. 32",
}

ARTICLE_OF_OUTDATED = {
    "browser_settings_consent": "Art. 4(11), Recital 32; CJEU C-673/17 Planet49",
    "consent_by_use": "Art. 4(11), 7(2); Recital 32",
    "telecom_law_art_173": "Prawo komunikacji elektronicznej (Dz.U. 2024 poz. 1221), art. 399",
    "act_1997": "GDPR; ustawa z 10 maja 2018 o ochronie danych osobowych",
    "privacy_shield": "Art. 45; CJEU C-311/18 Schrems II",
    "discontinued_service": "Art. 13(1)(e)",
    "other": "Art. 13",
}

COOKIE_ARTICLE = "ePrivacy Art. 5(3); CJEU C-673/17 Planet49"


@dataclass(frozen=True)
class Finding:
    """One gap or outdated statement in a notice, at a data path, under an article."""

    site_id: str
    severity: Severity
    path: str
    article: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity:<8}  {self.path:<40}  {self.article:<28}  {self.message}"


def check_notice(site_id: str, notice: Notice) -> list[Finding]:
    """Every missing Art. 13/14 item and every outdated statement in `notice`."""
    return list(_findings(site_id, notice))


def _findings(site_id: str, notice: Notice) -> Iterator[Finding]:
    def missing(path: str, article: str, message: str) -> Finding:
        return Finding(site_id, "missing", path, article, message)

    document = notice.document
    if isinstance(document.version, NotStated):
        yield missing("document.version", "Art. 5(2)", "no document version")
    if isinstance(document.effective_date, NotStated):
        yield missing("document.effective_date", "Art. 5(2)", "no effective date")

    controller = notice.controller
    if isinstance(controller.registry_numbers, NotStated):
        yield missing("controller.registry_numbers", "Art. 13(1)(a)", "no registry numbers")
    if isinstance(controller.contact.email, NotStated):
        yield missing("controller.contact.email", "Art. 13(1)(a)", "no contact e-mail address")

    automated = notice.automated_decisions
    if not isinstance(automated, NotStated) and isinstance(automated.profiling, NotStated):
        yield missing("automated_decisions.profiling", "Art. 13(2)(f)", "profiling not stated")
    if not isinstance(notice.dpo, NotStated) and isinstance(notice.dpo.contact.email, NotStated):
        yield missing("dpo.contact.email", "Art. 13(1)(b)", "no e-mail address of the DPO")

    for item, article in ARTICLE_OF_ITEM.items():
        if isinstance(getattr(notice, item), NotStated):
            yield missing(item, article, f"{item.replace('_', ' ')} not stated")

    yield from _purpose_findings(site_id, notice)
    yield from _rights_findings(site_id, notice)
    yield from _transfer_findings(site_id, notice)
    yield from _cookie_findings(site_id, notice)
    for index, statement in enumerate(notice.outdated_statements):
        yield _outdated(site_id, f"outdated_statements[{index}]", statement)


def _purpose_findings(site_id: str, notice: Notice) -> Iterator[Finding]:
    for index, purpose in enumerate(notice.purposes):
        path = f"purposes[{index}] ({purpose.id})"
        if isinstance(purpose.legal_bases, NotStated):
            yield Finding(
                site_id, "missing", f"{path}.legal_bases", "Art. 13(1)(c)", "no legal basis"
            )
        if isinstance(purpose.retention, NotStated):
            yield Finding(
                site_id,
                "missing",
                f"{path}.retention",
                "Art. 13(2)(a)",
                "no retention period or criterion",
            )


def _rights_findings(site_id: str, notice: Notice) -> Iterator[Finding]:
    if isinstance(notice.rights, NotStated):
        return
    for right in REQUIRED_RIGHTS:
        if right not in notice.rights.listed:
            yield Finding(
                site_id,
                "missing",
                f"rights.listed ({right.value})",
                "Art. 13(2)(b)",
                f"right of {right.value} not stated",
            )
    if notice.relies_on_consent and Right.WITHDRAW_CONSENT not in notice.rights.listed:
        yield Finding(
            site_id,
            "missing",
            "rights.listed (withdraw_consent)",
            "Art. 13(2)(c), 7(3)",
            "right to withdraw consent not stated",
        )


def _transfer_findings(site_id: str, notice: Notice) -> Iterator[Finding]:
    transfers = notice.transfers
    if isinstance(transfers, NotStated) or not transfers.outside_eea:
        return
    if not transfers.safeguards or Safeguard.NOT_STATED in transfers.safeguards:
        yield Finding(
            site_id,
            "missing",
            "transfers.safeguards",
            "Art. 13(1)(f), 46",
            "transfer safeguard not stated",
        )
    if Safeguard.PRIVACY_SHIELD in transfers.safeguards:
        yield Finding(
            site_id,
            "outdated",
            "transfers.safeguards (privacy_shield)",
            ARTICLE_OF_OUTDATED["privacy_shield"],
            "relies on the invalidated EU-US Privacy Shield",
        )


def _cookie_findings(site_id: str, notice: Notice) -> Iterator[Finding]:
    for index, purpose in enumerate(notice.cookies.purposes):
        path = f"cookies.purposes[{index}] ({purpose.id})"
        if isinstance(purpose.cookies, NotStated):
            yield Finding(
                site_id,
                "missing",
                f"{path}.cookies",
                COOKIE_ARTICLE,
                "cookies of this purpose not listed",
            )
            continue
        for cookie_index, cookie in enumerate(purpose.cookies):
            if isinstance(cookie.duration, NotStated):
                yield Finding(
                    site_id,
                    "missing",
                    f"{path}.cookies[{cookie_index}] ({cookie.name}).duration",
                    COOKIE_ARTICLE,
                    "cookie duration not stated",
                )


def _outdated(site_id: str, path: str, statement: OutdatedStatement) -> Finding:
    return Finding(
        site_id,
        "outdated",
        f"{path} ({statement.kind})",
        statement.article or ARTICLE_OF_OUTDATED[statement.kind],
        statement.explanation.en,
    )

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
from typing import Any, Literal

from zgoda.notices.model import (
    LegalBasis,
    Notice,
    NotStated,
    OutdatedStatement,
    Right,
    Safeguard,
)

Severity = Literal["error", "warning", "info"]
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

# Outdated statements by kind: severity, article, fix, the notice section they concern.
OUTDATED: dict[str, tuple[Severity, str, str, str]] = {
    "browser_settings_consent": ("error", "Art. 4(11), Recital 32; CJEU C-673/17 Planet49", "remove the clause: non-essential cookies wait for the banner's consent", "cookies"),
    "consent_by_use": ("error", "Art. 4(11), 7(2); Recital 32", "remove the clause: rest each purpose on its own Art. 6(1) basis, consent only by an affirmative act", "purposes"),
    "telecom_law_art_173": ("warning", "Prawo komunikacji elektronicznej (Dz.U. 2024 poz. 1221), art. 399", "cite art. 399 Prawo komunikacji elektronicznej instead", "cookies"),
    "act_1997": ("error", "Art. 6(1), 13(1)(c); ustawa z 10 maja 2018 o ochronie danych osobowych", "cite the GDPR and the act of 10 May 2018, not the repealed act of 29 August 1997", "purposes"),
    "privacy_shield": ("error", "Art. 45; CJEU C-311/18 Schrems II", "drop Privacy Shield: name the EU-US Data Privacy Framework or standard contractual clauses", "transfers"),
    "discontinued_service": ("warning", "Art. 13(1)(e)", "remove the discontinued service from the notice", "cookies"),
    "other": ("error", "Art. 13", "reword the clause as the explanation says", "purposes"),
}  # fmt: skip

# The privacy page's section (its anchor in templates/privacy.html) for each top-level item.
SECTION_OF_ITEM = {
    "document": "document",
    "controller": "controller",
    "dpo": "dpo",
    "purposes": "purposes",
    "data_categories": "data",
    "data_sources": "data",
    "recipients": "recipients",
    "transfers": "transfers",
    "rights": "rights",
    "supervisory_authorities": "complaint",
    "requirement": "requirement",
    "automated_decisions": "automated",
    "children": "children",
    "security_measures": "security",
    "cookies": "cookies",
}

COOKIE_ARTICLE = "ePrivacy Art. 5(3); CJEU C-673/17 Planet49"

# Advertising and analytics vendors whose cookies always need consent (ePrivacy Art. 5(3)):
# never strictly necessary for a service the visitor asked for. Names as the vendors document
# them (Google's "cookies used by Google Analytics/Ads", Meta's cookie policy, LinkedIn's cookie
# table, Microsoft's UET and Clarity, Hotjar, TikTok, Pinterest); a trailing * is a prefix.
TRACKING_COOKIE_NAMES = (
    "_ga", "_ga_*", "_gid", "_gat", "_gat_*", "__utm*", "_gcl_*", "IDE", "test_cookie", "DSID",
    "_fbp", "_fbc", "fr", "bcookie", "li_sugr", "lidc", "UserMatchHistory", "AnalyticsSyncHistory",
    "_uetsid", "_uetvid", "MUID", "_clck", "_clsk", "_hjSession*", "_hjid", "_ttp", "_pin_unauth",
)  # fmt: skip
TRACKING_PROVIDERS = re.compile(
    r"google (analytics|ads|adwords|tag manager)|doubleclick|facebook|\bmeta\b|linkedin"
    r"|microsoft (advertising|clarity)|\bbing\b|hotjar|tiktok|pinterest|twitter|criteo"
    r"|taboola|outbrain|yandex",
    re.IGNORECASE,
)
LOGIN_PURPOSE = re.compile(r"authenticat|log[ -]?in|sign[ -]?in|uwierzyteln|logowan", re.I)
# "zgodnie z" (in accordance with) is no consent: only the noun's forms count.
CONSENT_WORDS = re.compile(r"\bconsent|\bzgod(a|y|ę|zie|ą)\b", re.IGNORECASE)
OBLIGATION_WORDS = re.compile(
    r"legal obligation|obliged by law|required by law|statutory (duty|obligation)"
    r"|obowiąz\w* prawn|obowiąz\w* ustawow|wymagają przepisy|przepisy prawa (nakładają|wymagają)",
    re.IGNORECASE,
)
CONDITIONAL_COMPLAINT = re.compile(
    r"(before|prior to) (lodging|filing|making) a complaint|complain\w*[^.]*\bonly (after|if|once)"
    r"|przed wniesieniem skargi|skarg\w*[^.]*\b(dopiero|wyłącznie) (po|gdy|jeśli)",
    re.IGNORECASE,
)
SPECIAL_CATEGORY = re.compile(
    r"health|medical|biometric|genetic|racial|ethnic|political|religio|trade union|sex life"
    r"|sexual orientation|zdrow|medyczn|biometr|genetyczn|rasow|etniczn|polityczn|religi"
    r"|związk\w* zawodow|seksualn",
    re.IGNORECASE,
)
NO_SPECIAL_CATEGORIES = re.compile(
    r"no special categor|not process\w* (any )?special categor"
    r"|nie przetwarza\w* (żadnych )?szczególnych kategorii",
    re.IGNORECASE,
)
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
        _contact,
        _purposes,
        _special_categories,
        _rights,
        _complaint,
        _transfers,
        _automated,
        _cookies,
        _placeholders,
    ):
        for severity, path, article, message, fix in rule(notice):
            yield make(severity, path, article, message, fix)
    yield from _outdated(site_id, notice)


Raw = Iterator[tuple[Severity, str, str, str, str]]


def _contact(notice: Notice) -> Raw:
    """Art. 12(2), Recital 59: requests must be possible by electronic means."""
    controller = notice.controller.contact
    dpo = None if isinstance(notice.dpo, NotStated) else notice.dpo.contact
    channels = [c for c in (controller, dpo) if c is not None]
    electronic = [c for c in channels if isinstance(c.email, str) or c.web_form]
    if not electronic:
        yield (
            "warning",
            "controller.contact",
            "Art. 12(2), 13(1)(a); Recital 59",
            "no electronic contact channel at all: no e-mail address and no web form",
            "give an e-mail address or a web form for requests",
        )
        return
    if isinstance(controller.email, NotStated) and not controller.web_form:
        yield (
            "info",
            "controller.contact.email",
            "Art. 13(1)(a)",
            "no contact e-mail address of the controller",
            "give the controller's e-mail address",
        )
    if dpo is not None and dpo not in electronic:
        yield (
            "warning",
            "dpo.contact.email",
            "Art. 13(1)(b), 38(4)",
            "no e-mail address of the DPO",
            "give the DPO's e-mail address",
        )


def _purposes(notice: Notice) -> Raw:
    for index, purpose in enumerate(notice.purposes):
        path = f"purposes[{index}] ({purpose.id})"
        if isinstance(purpose.legal_bases, NotStated):
            yield (
                "warning",
                f"{path}.legal_bases",
                "Art. 13(1)(c), 6(1)",
                "no legal basis",
                "name the Art. 6(1) basis of this purpose",
            )
        if isinstance(purpose.retention, NotStated):
            yield (
                "warning",
                f"{path}.retention",
                "Art. 13(2)(a)",
                "no retention period or criterion",
                "give how long the data is kept, or the criterion",
            )
        interest = purpose.legitimate_interest
        if interest is None:
            continue
        words = f"{interest.pl} {interest.en}"
        for pattern, named, basis in (
            (CONSENT_WORDS, "consent", "(a)"),
            (OBLIGATION_WORDS, "a legal obligation", "(c)"),
        ):
            if pattern.search(words):
                yield (
                    "warning",
                    f"{path}.legitimate_interest",
                    "Art. 6(1)(f), 13(1)(d)",
                    f"the legitimate interest names {named}, which is another legal basis",
                    f"state the interest itself; rest processing on {named} under Art. 6(1){basis}",
                )


def _special_categories(notice: Notice) -> Raw:
    """Art. 9(1): special categories processed while the notice says none are."""
    if not isinstance(notice.data_categories, list):
        return
    declared_none = getattr(notice, "special_categories", None) is False or any(
        NO_SPECIAL_CATEGORIES.search(text) for text in _texts(notice)
    )
    if not declared_none:
        return
    for index, category in enumerate(notice.data_categories):
        if getattr(category, "special", False) is True or SPECIAL_CATEGORY.search(
            f"{category.name.pl} {category.name.en}"
        ):
            yield (
                "error",
                f"data_categories[{index}] ({category.id})",
                "Art. 9(1), 13(1)(c)",
                "a special category of data is processed, yet the notice says none are",
                "say which special categories are processed and on which Art. 9(2) condition",
            )


def _rights(notice: Notice) -> Raw:
    """Art. 13(2)(b),(c): a listed right the GDPR gives for these purposes but the list omits."""
    if isinstance(notice.rights, NotStated):
        return
    listed = set(notice.rights.listed)
    bases = {b for p in notice.purposes if isinstance(p.legal_bases, list) for b in p.legal_bases}
    unknown = any(isinstance(p.legal_bases, NotStated) for p in notice.purposes)
    applies: dict[Right, tuple[bool, str]] = {
        Right.ACCESS: (True, "Art. 13(2)(b), 15"),
        Right.RECTIFICATION: (True, "Art. 13(2)(b), 16"),
        Right.ERASURE: (True, "Art. 13(2)(b), 17"),
        Right.RESTRICTION: (True, "Art. 13(2)(b), 18"),
        Right.OBJECTION: (bool(bases & {LegalBasis.PUBLIC_TASK, LegalBasis.LEGITIMATE_INTERESTS}), "Art. 13(2)(b), 21"),
        Right.PORTABILITY: (bool(bases & {LegalBasis.CONSENT, LegalBasis.CONTRACT}), "Art. 13(2)(b), 20"),
        Right.WITHDRAW_CONSENT: (notice.relies_on_consent, "Art. 13(2)(c), 7(3)"),
    }  # fmt: skip
    for right, (applicable, article) in applies.items():
        if right in listed:
            continue
        path = f"rights.listed ({right.value})"
        name = right.value.replace("_", " ")
        if applicable:
            yield (
                "error",
                path,
                article,
                f"the rights listed leave out {name}, which the GDPR gives here",
                f"add {right.value} to rights.listed",
            )
        elif unknown:
            yield (
                "warning",
                path,
                article,
                f"right of {name} not stated",
                f"add {right.value} to rights.listed if a purpose's basis gives it",
            )


def _complaint(notice: Notice) -> Raw:
    """Art. 77(1): the right to complain has no precondition."""
    if isinstance(notice.rights, NotStated):
        return
    for name in ("how_to_exercise", "response_time"):
        text = getattr(notice.rights, name)
        if text is not None and CONDITIONAL_COMPLAINT.search(f"{text.pl} {text.en}"):
            yield (
                "error",
                f"rights.{name}",
                "Art. 77(1), 13(2)(d)",
                "the right to complain to a supervisory authority is made conditional",
                "state the right to complain without any precondition",
            )


def _transfers(notice: Notice) -> Raw:
    transfers = notice.transfers
    if isinstance(transfers, NotStated) or not transfers.outside_eea:
        return
    valid = [
        s for s in transfers.safeguards if s not in (Safeguard.PRIVACY_SHIELD, Safeguard.NOT_STATED)
    ]
    if not valid:
        yield (
            "warning",
            "transfers.safeguards",
            "Art. 13(1)(f), 46",
            "no valid transfer safeguard stated",
            "name the adequacy decision or the Art. 46 safeguard, and how to get a copy",
        )
    recorded = any(s.kind == "privacy_shield" for s in notice.outdated_statements)
    if (
        Safeguard.PRIVACY_SHIELD in transfers.safeguards and not recorded
    ):  # else reported once, quoted
        severity, article, fix, _ = OUTDATED["privacy_shield"]
        yield (
            severity,
            "transfers.safeguards (privacy_shield)",
            article,
            "relies on the invalidated EU-US Privacy Shield",
            fix,
        )


def _automated(notice: Notice) -> Raw:
    """Art. 13(2)(f), 22: solely automated decisions need a ground and safeguards."""
    automated = notice.automated_decisions
    if isinstance(automated, NotStated):
        return
    decides = getattr(automated, "automated_decisions", None)
    profiling = getattr(automated, "profiling", None)
    questions = {
        "automated_decisions": "whether any decision is made solely by automated means",
        "profiling": "whether personal data is used for profiling",
    }
    for name, value in (("automated_decisions", decides), ("profiling", profiling)):
        if isinstance(value, NotStated):
            yield (
                "warning",
                f"automated_decisions.{name}",
                "Art. 13(2)(f)",
                f"{name.replace('_', ' ')} not stated",
                f"say {questions[name]}",
            )
    if decides is not True:
        return
    ground = any(getattr(automated, name, None) for name in ("ground", "legal_ground", "grounds"))
    safeguards = getattr(automated, "safeguards", None)
    if not ground or not safeguards:
        lacking = [
            what
            for what, given in (
                ("no Art. 22(2) ground", ground),
                ("no Art. 22(3) safeguards", safeguards),
            )
            if not given
        ]
        yield (
            "error",
            "automated_decisions",
            "Art. 22(2), 22(3), 13(2)(f)",
            f"decisions with legal or similarly significant effect are made solely by automated means: {' and '.join(lacking)}",
            "name the ground (contract, law or explicit consent) and the right to human intervention, to express one's view and to contest",
        )
    if getattr(automated, "logic", None) is None:
        yield (
            "warning",
            "automated_decisions.logic",
            "Art. 13(2)(f)",
            "no meaningful information about the logic involved",
            "describe the logic, significance and envisaged consequences",
        )


def _cookies(notice: Notice) -> Raw:
    for index, purpose in enumerate(notice.cookies.purposes):
        path = f"cookies.purposes[{index}] ({purpose.id})"
        if not purpose.required and LOGIN_PURPOSE.search(
            f"{purpose.id} {purpose.name.en} {purpose.name.pl}"
        ):
            yield (
                "warning",
                f"{path}.required",
                "ePrivacy Art. 5(3); EDPB Guidelines 2/2023",
                "sign-in cookies are put behind consent, though strictly necessary for a service the visitor asked for",
                "mark the purpose required, or move its cookies to the necessary purpose",
            )
        if isinstance(purpose.cookies, NotStated):
            yield (
                "warning",
                f"{path}.cookies",
                COOKIE_ARTICLE,
                "cookies of this purpose not listed",
                "list each cookie with its provider and lifetime",
            )
            continue
        for number, cookie in enumerate(purpose.cookies):
            where = f"{path}.cookies[{number}] ({cookie.name})"
            if purpose.required and (cookie.ad_vendor or _tracks(cookie.name, cookie.provider)):
                yield (
                    "error",
                    where,
                    "ePrivacy Art. 5(3); EDPB Cookie Banner Taskforce 2023",
                    f"an advertising or analytics cookie of {cookie.provider} is set without consent (its purpose is required)",
                    "move the cookie to an optional purpose",
                )
            if isinstance(cookie.duration, NotStated):
                yield (
                    "warning",
                    f"{where}.duration",
                    COOKIE_ARTICLE,
                    "cookie lifetime not stated",
                    "give how long the cookie lasts",
                )
            if not cookie.provider.strip():
                yield (
                    "warning",
                    f"{where}.provider",
                    COOKIE_ARTICLE,
                    "cookie provider not stated",
                    "name who sets and reads the cookie",
                )


def _tracks(name: str, provider: str) -> bool:
    for known in TRACKING_COOKIE_NAMES:
        if name == known or (known.endswith("*") and name.startswith(known[:-1])):
            return True
    return bool(TRACKING_PROVIDERS.search(provider))


def _placeholders(notice: Notice) -> Raw:
    """A `TODO` left in the data, as `flask notices new` writes them."""
    reported = set()
    for path, value in _strings(notice.model_dump(mode="json", exclude_none=True), ""):
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


def _texts(notice: Notice) -> Iterator[str]:
    for _, value in _strings(notice.model_dump(mode="json", exclude_none=True), ""):
        yield value


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")

"""The rules a reviewer applies to what notice data expresses, beyond the gaps its author marks.

Each rule reads one part of a notice and yields raw findings: (severity, data path, article,
message, one-line fix); zgoda.notices.check gives them their site and order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal

from zgoda.notices.model import (
    LegalBasis,
    Notice,
    NotStated,
    Right,
    Safeguard,
)

Severity = Literal["error", "warning", "info"]
Raw = Iterator[tuple[Severity, str, str, str, str]]

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


def contact(notice: Notice) -> Raw:
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


def purposes(notice: Notice) -> Raw:
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
        if isinstance(interest, NotStated):
            yield (
                "warning",
                f"{path}.legitimate_interest",
                "Art. 13(1)(d)",
                "the legitimate interest relied on is not stated",
                "name the legitimate interest pursued",
            )
            continue
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


def special_categories(notice: Notice) -> Raw:
    """Art. 9(1): special categories processed while the notice says none are."""
    if not isinstance(notice.data_categories, list):
        return
    declared_none = getattr(notice, "special_categories", None) is False or any(
        NO_SPECIAL_CATEGORIES.search(text) for text in texts(notice)
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


def rights(notice: Notice) -> Raw:
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


def complaint(notice: Notice) -> Raw:
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


def transfers(notice: Notice) -> Raw:
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


def automated(notice: Notice) -> Raw:
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


def texts(notice: Notice) -> Iterator[str]:
    for _, value in strings(notice.model_dump(mode="json", exclude_none=True), ""):
        yield value


def strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, f"{path}[{index}]")

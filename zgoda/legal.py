"""Standard legal wording, written once and translated through the gettext catalogs.

What the law itself grants (the rights and what they mean, withdrawing consent, the right
to complain and where) is rendered from here on every notice, whether or not the
organisation's policy remembered it; what only the organisation can know is never filled in.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from zgoda.notices.model import LegalBasis, Right, Safeguard

LEGAL_BASIS_NAMES: dict[LegalBasis, LazyString] = {
    LegalBasis.CONSENT: _l("your consent (GDPR Art. 6(1)(a))"),
    LegalBasis.CONTRACT: _l(
        "performance of a contract or steps taken at your request before entering into one (GDPR Art. 6(1)(b))"
    ),
    LegalBasis.LEGAL_OBLIGATION: _l(
        "compliance with a legal obligation of the controller (GDPR Art. 6(1)(c))"
    ),
    LegalBasis.VITAL_INTERESTS: _l("protection of vital interests (GDPR Art. 6(1)(d))"),
    LegalBasis.PUBLIC_TASK: _l("a task carried out in the public interest (GDPR Art. 6(1)(e))"),
    LegalBasis.LEGITIMATE_INTERESTS: _l(
        "legitimate interests of the controller or a third party (GDPR Art. 6(1)(f))"
    ),
}

RIGHT_NAMES: dict[Right, LazyString] = {
    Right.ACCESS: _l("Right of access"),
    Right.RECTIFICATION: _l("Right to rectification"),
    Right.ERASURE: _l("Right to erasure"),
    Right.RESTRICTION: _l("Right to restriction of processing"),
    Right.OBJECTION: _l("Right to object"),
    Right.PORTABILITY: _l("Right to data portability"),
    Right.WITHDRAW_CONSENT: _l("Right to withdraw consent"),
    Right.NO_AUTOMATED_DECISIONS: _l("Right not to be subject to automated decisions"),
}

RIGHT_DESCRIPTIONS: dict[Right, LazyString] = {
    Right.ACCESS: _l(
        "You can ask whether your data is processed and receive a copy of it (GDPR Art. 15)."
    ),
    Right.RECTIFICATION: _l(
        "You can have inaccurate data corrected and incomplete data completed (GDPR Art. 16)."
    ),
    Right.ERASURE: _l(
        "You can have your data erased where the law allows, for example when it is no longer needed (GDPR Art. 17)."
    ),
    Right.RESTRICTION: _l(
        "You can ask for processing to be limited, for example while the accuracy of the data is checked (GDPR Art. 18)."
    ),
    Right.OBJECTION: _l(
        "You can object to processing based on legitimate interests, and at any time to direct marketing (GDPR Art. 21)."
    ),
    Right.PORTABILITY: _l(
        "Where processing is based on your consent or a contract and is carried out by automated means, you can receive the data you provided in a structured, machine-readable format, or have it sent to another controller (GDPR Art. 20)."
    ),
    Right.WITHDRAW_CONSENT: _l(
        "Where processing is based on consent, you can withdraw it at any time, as easily as you gave it; this does not affect the lawfulness of processing before the withdrawal (GDPR Art. 7(3))."
    ),
    Right.NO_AUTOMATED_DECISIONS: _l(
        "You have the right not to be subject to a decision based solely on automated processing, including profiling, that has legal or similarly significant effects on you (GDPR Art. 22)."
    ),
}

SAFEGUARD_NAMES: dict[Safeguard, LazyString] = {
    Safeguard.ADEQUACY: _l("an adequacy decision of the European Commission (GDPR Art. 45)"),
    Safeguard.DATA_PRIVACY_FRAMEWORK: _l(
        "the EU-US Data Privacy Framework adequacy decision (GDPR Art. 45)"
    ),
    Safeguard.STANDARD_CONTRACTUAL_CLAUSES: _l(
        "standard contractual clauses approved by the European Commission (GDPR Art. 46(2)(c))"
    ),
    Safeguard.BINDING_CORPORATE_RULES: _l("binding corporate rules (GDPR Art. 47)"),
    Safeguard.DEROGATION: _l("a derogation for specific situations (GDPR Art. 49)"),
    Safeguard.PRIVACY_SHIELD: _l(
        "the EU-US Privacy Shield, which the Court of Justice of the EU invalidated on 16 July 2020 (C-311/18) and which is no longer a valid basis for transfers"
    ),
    Safeguard.NOT_STATED: _l("a safeguard the notice does not name"),
}

# The rights every data subject has under the GDPR, in the order the pages list them.
GDPR_RIGHTS: tuple[Right, ...] = (
    Right.ACCESS,
    Right.RECTIFICATION,
    Right.ERASURE,
    Right.RESTRICTION,
    Right.OBJECTION,
    Right.PORTABILITY,
    Right.NO_AUTOMATED_DECISIONS,
)


@dataclass(frozen=True)
class Authority:
    """A supervisory authority as the law establishes it (GDPR Art. 51), with its office."""

    name: LazyString
    address: str


# Where a visitor of a Polish website can complain; named by the law, not by the organisation.
POLISH_AUTHORITY = Authority(
    name=_l("the President of the Personal Data Protection Office (Prezes UODO)"),
    address="ul. Stawki 2, 00-193 Warszawa",
)

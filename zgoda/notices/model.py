"""The policy-data model: one typed description of an organisation's notice.

Every organisation-specific sentence is a `Text` ({pl, en}). Standard legal
wording (names of legal bases and rights, the right to complain, withdrawing
consent) is not stored here: it lives once in the templates and catalogs.

An item that the organisation's policy does not give is written as `NotStated`, with a
note telling the reader what the controller does not state; the completeness check
reports it instead of anyone inventing it.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator, model_validator

from zgoda.notices.base import (
    LOCALES,
    SLUG_PATTERN,
    Duration,
    Locale,
    NotStated,
    Strict,
    Text,
    TimeUnit,
)
from zgoda.notices.cookie_policy import (
    DEFAULT_CONSENT_MODE,
    ConsentModeType,
    ConsentPurpose,
    ConsentService,
    ConsentSignal,
    Cookie,
    CookiePolicy,
    EmbedSettings,
)

# Re-exported: callers use zgoda.notices.model as the one place for the notice's types.
__all__ = [
    "DEFAULT_CONSENT_MODE",
    "LOCALES",
    "ConsentModeType",
    "ConsentPurpose",
    "ConsentService",
    "ConsentSignal",
    "Cookie",
    "CookiePolicy",
    "Duration",
    "EmbedSettings",
    "Locale",
    "EmailAddress",
    "Notice",
    "NotStated",
    "SafeUrl",
    "Text",
    "TimeUnit",
]


URL_SCHEMES = ("https", "http", "mailto", "tel")
_ALLOWED = "use https:, http:, mailto: or tel:"


def _safe_url(value: str) -> str:
    """Refuse a URL a page must not link to: javascript:, data:, any other scheme, or none."""
    # Browsers drop tabs and newlines inside a URL ("java\tscript:") and read "\" as "/";
    # quotes and angle brackets are no part of a URL (RFC 3986), whatever escapes them.
    if re.search(r'[\s\x00-\x1f\x7f\\"<>]', value):
        raise ValueError('a URL may not hold spaces, control characters, \\, ", < or >')
    scheme, colon, rest = value.partition(":")
    if not colon or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        raise ValueError(f"{value!r} is not a URL: {_ALLOWED}")
    scheme = scheme.lower()
    if scheme not in URL_SCHEMES:
        raise ValueError(f"URL scheme {scheme!r} is not allowed: {_ALLOWED}")
    if scheme in ("https", "http") and not (rest.startswith("//") and urlsplit(value).hostname):
        raise ValueError(f"{value!r} has no host, as in https://example.com/")
    if not rest:
        raise ValueError(f"{value!r} has nothing after {scheme}:")
    return value


def _email_address(value: str) -> str:
    """An address the pages link to as mailto:; nothing a mail client would read as headers."""
    if not re.fullmatch(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


# Every address in notice data that a page or a receipt links to has one of these types.
SafeUrl = Annotated[str, AfterValidator(_safe_url)]
EmailAddress = Annotated[str, AfterValidator(_email_address)]


class LegalBasis(StrEnum):
    """GDPR Art. 6(1) letters."""

    CONSENT = "a"
    CONTRACT = "b"
    LEGAL_OBLIGATION = "c"
    VITAL_INTERESTS = "d"
    PUBLIC_TASK = "e"
    LEGITIMATE_INTERESTS = "f"


class Right(StrEnum):
    """Data-subject rights of GDPR Arts 15-22 and 7(3)."""

    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    OBJECTION = "objection"
    PORTABILITY = "portability"
    WITHDRAW_CONSENT = "withdraw_consent"
    NO_AUTOMATED_DECISIONS = "no_automated_decisions"


class Address(Strict):
    street: str
    postal_code: str | None = None  # omitted where the source gives none
    city: str
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]


class RegistryNumber(Strict):
    """An identifier in a public register (KRS, NIP, REGON, or another)."""

    kind: Literal["KRS", "NIP", "REGON", "VAT", "registry_code", "other"]
    value: str
    registry: Text | None = None


class Contact(Strict):
    """How to reach the controller or the DPO; a missing channel is NotStated."""

    email: EmailAddress | NotStated
    phone: list[str] = []
    fax: str | None = None
    postal_address: Address | None = None
    web_form: SafeUrl | None = None


class Controller(Strict):
    """Art. 13(1)(a): who decides what is done with the data."""

    name: str
    trade_name: str | None = None
    address: Address
    registry_numbers: list[RegistryNumber] | NotStated
    contact: Contact
    eu_representative: Text | None = None
    group: Text | None = None


class DataProtectionOfficer(Strict):
    """Art. 13(1)(b): the DPO, where one is appointed."""

    name: str | None = None
    contact: Contact


class Retention(Strict):
    """Art. 13(2)(a): a period (number and unit, counted from `starts`) or a criterion."""

    period: Duration | None = None
    starts: Text | None = None
    criterion: Text | None = None

    @model_validator(mode="after")
    def _period_or_criterion(self) -> Retention:
        if self.period is None and self.criterion is None:
            raise ValueError("retention needs a period, a criterion, or both")
        return self


class Purpose(Strict):
    """Art. 13(1)(c),(d) and 13(2)(a): a purpose, its legal bases, interest and retention."""

    id: Annotated[str, Field(pattern=SLUG_PATTERN)]
    name: Text
    description: Text | None = None
    legal_bases: Annotated[list[LegalBasis], Field(min_length=1)] | NotStated
    # Required with basis (f); a notice that relies on it without naming the interest says so.
    legitimate_interest: Text | NotStated | None = None
    data_categories: list[str] = []
    retention: list[Retention] | NotStated

    @model_validator(mode="after")
    def _interest_named_where_relied_on(self) -> Purpose:
        bases = self.legal_bases if isinstance(self.legal_bases, list) else []
        if LegalBasis.LEGITIMATE_INTERESTS in bases and self.legitimate_interest is None:
            raise ValueError("legal basis (f) needs `legitimate_interest` (Art. 13(1)(d))")
        return self


class Recipient(Strict):
    """Art. 13(1)(e): a recipient or category of recipients; processors are named."""

    category: Text
    role: Literal["processor", "controller", "public_authority", "group_company", "other"]
    names: list[str] = []


class Safeguard(StrEnum):
    """Art. 45-49 transfer mechanisms; `privacy_shield` is recorded only to flag it."""

    ADEQUACY = "adequacy"
    DATA_PRIVACY_FRAMEWORK = "data_privacy_framework"
    STANDARD_CONTRACTUAL_CLAUSES = "standard_contractual_clauses"
    BINDING_CORPORATE_RULES = "binding_corporate_rules"
    DEROGATION = "art49_derogation"
    PRIVACY_SHIELD = "privacy_shield"
    NOT_STATED = "not_stated"


# Mechanisms a source may still name that no longer allow any transfer.
INVALID_SAFEGUARDS = frozenset({Safeguard.PRIVACY_SHIELD})


class Transfers(Strict):
    """Art. 13(1)(f): whether data leaves the EEA and on what safeguard."""

    outside_eea: bool
    destinations: Text | None = None
    safeguards: list[Safeguard] = []
    details: Text | None = None

    @property
    def valid_safeguards(self) -> list[Safeguard]:
        """The named safeguards a transfer can rest on today (pages list only these)."""
        return [s for s in self.safeguards if s not in INVALID_SAFEGUARDS]

    @property
    def invalid_safeguards(self) -> list[Safeguard]:
        """Named safeguards that are no longer valid law, kept so the check can flag them."""
        return [s for s in self.safeguards if s in INVALID_SAFEGUARDS]


class Rights(Strict):
    """Art. 13(2)(b)-(c): the rights the notice grants and how to exercise them."""

    listed: Annotated[list[Right], Field(min_length=1)]
    how_to_exercise: Text | None = None
    response_time: Text | None = None


class SupervisoryAuthority(Strict):
    """Art. 13(2)(d): where to complain."""

    name: Text
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    address: str | None = None
    phone: str | None = None
    email: EmailAddress | None = None


class Requirement(Strict):
    """Art. 13(2)(e): statutory/contractual requirement and the consequences."""

    text: Text


class AutomatedDecisions(Strict):
    """Art. 13(2)(f) / 22: automated decisions and profiling, each stated or not.

    `true`/`false` only where the source says so; a source silent on either gives NotStated,
    so a page never claims that no decision is made by automated means when nobody said so.
    """

    profiling: bool | NotStated
    automated_decisions: bool | NotStated
    logic: Text | None = None
    consequences: Text | None = None


class DataCategory(Strict):
    """Art. 14(1)(d): a category of personal data."""

    id: Annotated[str, Field(pattern=SLUG_PATTERN)]
    name: Text


class DataSource(Strict):
    """Art. 14(2)(f): where data comes from, and whether it is public."""

    description: Text
    publicly_accessible: bool = False


class OutdatedStatement(Strict):
    """A statement in the source that is no longer valid law, kept so the check can flag it."""

    kind: Literal[
        "browser_settings_consent",
        "consent_by_use",
        "telecom_law_art_173",
        "act_1997",
        "privacy_shield",
        "discontinued_service",
        "other",
    ]
    quote: Annotated[str, Field(min_length=1, description="the source wording, verbatim")]
    explanation: Text
    article: str | None = None  # overrides the article the check cites for this kind


class Document(Strict):
    """Title, version and effective date of the notice, as the source gives them."""

    title: Text
    version: str | NotStated
    effective_date: str | NotStated
    source_url: SafeUrl | None = None

    @field_validator("effective_date")
    @classmethod
    def _iso_date_or_month(cls, value: str | NotStated) -> str | NotStated:
        if isinstance(value, str):
            if not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", value):
                raise ValueError("effective_date must be YYYY-MM-DD or YYYY-MM")
            date.fromisoformat(value if len(value) == 10 else value + "-01")
        return value


class Notice(Strict):
    """An organisation's privacy notice and cookie policy, as structured data."""

    default_locale: Locale
    site_name: str
    website: SafeUrl | None = None
    document: Document
    controller: Controller
    dpo: DataProtectionOfficer | NotStated
    purposes: Annotated[list[Purpose], Field(min_length=1)]
    data_categories: list[DataCategory] | NotStated
    data_sources: list[DataSource] | NotStated
    recipients: list[Recipient] | NotStated
    transfers: Transfers | NotStated
    rights: Rights | NotStated
    supervisory_authorities: list[SupervisoryAuthority] | NotStated
    requirement: Requirement | NotStated
    automated_decisions: AutomatedDecisions | NotStated
    children: Text | NotStated
    security_measures: list[Text] | NotStated
    outdated_statements: list[OutdatedStatement] = []
    cookies: CookiePolicy
    embed: EmbedSettings = EmbedSettings()

    @property
    def relies_on_consent(self) -> bool:
        """Whether any purpose or any optional cookie purpose rests on consent."""
        return any(
            isinstance(purpose.legal_bases, list) and LegalBasis.CONSENT in purpose.legal_bases
            for purpose in self.purposes
        ) or any(not purpose.required for purpose in self.cookies.purposes)

    @model_validator(mode="after")
    def _data_categories_exist(self) -> Notice:
        known = (
            {category.id for category in self.data_categories}
            if isinstance(self.data_categories, list)
            else set()
        )
        for purpose in self.purposes:
            unknown = set(purpose.data_categories) - known
            if unknown:
                raise ValueError(
                    f"purpose {purpose.id!r} names unknown data categories {sorted(unknown)}"
                )
        return self

    @model_validator(mode="after")
    def _consent_mode_purposes_exist(self) -> Notice:
        if "consent_mode" not in self.embed.model_fields_set:
            return self  # the default mapping applies to whichever of its purposes exist
        unknown = set(self.embed.consent_mode) - {p.id for p in self.cookies.purposes}
        if unknown:
            raise ValueError(f"embed.consent_mode names unknown purposes {sorted(unknown)}")
        return self

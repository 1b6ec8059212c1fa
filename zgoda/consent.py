"""Consent rules: check a visitor's choice against a site's notice and build its record.

No Flask request in here: the web layer passes in what it read from HTTP.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, ClassVar, Literal, NewType

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from zgoda.errors import InvalidConsent, StaleNotice, TokenError, UnprovenConsent
from zgoda.notices.loader import LoadedNotice, content_hash
from zgoda.notices.model import Duration, TimeUnit
from zgoda.store.event import ConsentEvent
from zgoda.tokens import MAX_TOKEN_LENGTH, ConsentTokens, TokenPayload

DAYS_PER_UNIT = {TimeUnit.DAY: 1, TimeUnit.MONTH: 30, TimeUnit.YEAR: 365}


class Action(StrEnum):
    """What the visitor did."""

    ACCEPT_ALL = "accept_all"
    REJECT_ALL = "reject_all"
    CUSTOM = "custom"
    WITHDRAW = "withdraw"


class Source(StrEnum):
    """Where the choice was made."""

    BANNER = "banner"
    PREFERENCES_PAGE = "preferences_page"
    API = "api"


class ConsentRequest(BaseModel):
    """The body of POST /api/v1/sites/<site>/consents."""

    model_config = ConfigDict(extra="forbid")

    action: Action
    notice_version: Annotated[str, Field(min_length=1, max_length=64)]
    locale: Literal["pl", "en"]
    choices: dict[Annotated[str, Field(max_length=64)], StrictBool] | None = None
    token: Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_LENGTH)] | None = Field(
        default=None,
        description="The visitor's previous token (the embed's `zgoda_consent` cookie): the "
        "choice continues its consent id, expired tokens too. Without it the choice starts "
        "a new consent id.",
    )
    source: Source = Source.API
    # The embed reads navigator.globalPrivacyControl; not every browser sends Sec-GPC.
    gpc: StrictBool = False

    # Fields this body no longer takes, and what to send instead (the 422 says so).
    replaced_fields: ClassVar[dict[str, str]] = {
        "consent_id": "a consent id is continued only with a token the site issued for it: "
        "send the visitor's previous token as `token` (the consent id is taken from it)",
    }


@dataclass(frozen=True)
class ClientFacts:
    """What the web layer learned about the visitor's browser, already minimised."""

    gpc: bool
    user_agent_family: str
    ip_prefix: str | None


def lifetime(duration: Duration) -> timedelta:
    """A consent lifetime as a timedelta (a month counts 30 days, a year 365)."""
    return timedelta(days=duration.value * DAYS_PER_UNIT[duration.unit])


def purpose_hashes(loaded: LoadedNotice) -> dict[str, str]:
    """A short content hash per consent purpose: it changes when that purpose's wording does."""
    return {
        purpose.id: content_hash(purpose.model_dump(mode="json"))[:8]
        for purpose in loaded.notice.cookies.purposes
    }


@dataclass(frozen=True)
class ConsentRules:
    """What a notice version asks of a choice, worked out once per version."""

    purposes: tuple[str, ...]  # in the notice's order
    known: frozenset[str]
    optional: tuple[str, ...]
    required: frozenset[str]
    lifetime: timedelta


_RULES: dict[tuple[str, str], ConsentRules] = {}


def consent_rules(loaded: LoadedNotice) -> ConsentRules:
    """The rules of the notice's current version (a version names its content exactly)."""
    key = (loaded.site_id, loaded.version)
    rules = _RULES.get(key)
    if rules is None:
        purposes = loaded.notice.cookies.purposes
        if len(_RULES) >= 256:
            _RULES.clear()
        rules = _RULES[key] = ConsentRules(
            purposes=tuple(purpose.id for purpose in purposes),
            known=frozenset(purpose.id for purpose in purposes),
            optional=tuple(purpose.id for purpose in purposes if not purpose.required),
            required=frozenset(purpose.id for purpose in purposes if purpose.required),
            lifetime=lifetime(loaded.notice.embed.consent_lifetime),
        )
    return rules


def token_max_age(loaded: LoadedNotice) -> int:
    """How many seconds a consent token of this site stays valid: its consent lifetime."""
    return int(consent_rules(loaded).lifetime.total_seconds())


# A consent id that a genuine token of the site proved its holder was given.
ProvenConsentId = NewType("ProvenConsentId", str)


def proven_consent_id(tokens: ConsentTokens, loaded: LoadedNotice, token: str) -> ProvenConsentId:
    """The consent id the site gave the holder of `token` (expired too), or UnprovenConsent.

    Anyone who saw a receipt URL knows a consent id; only its holder has a token for it.
    """
    try:
        checked = tokens.check(loaded.site_id, token, max_age=token_max_age(loaded))
    except TokenError as error:
        raise UnprovenConsent(
            f"the token does not prove a consent of this site: {error.message}",
            field="token",
        ) from error
    return ProvenConsentId(checked.payload.consent_id)


def decide_choices(loaded: LoadedNotice, request: ConsentRequest) -> dict[str, bool]:
    """The final choice per purpose; required purposes are always granted."""
    rules = consent_rules(loaded)
    known, optional = rules.known, rules.optional
    sent = request.choices or {}
    unknown = sorted(set(sent) - known)
    if unknown:
        raise InvalidConsent(f"unknown purposes: {', '.join(unknown)}", field="choices")
    if request.action is Action.CUSTOM:
        missing = sorted(set(optional) - set(sent))
        if request.choices is None or missing:
            raise InvalidConsent(
                f"a custom choice must decide every optional purpose; missing: {', '.join(missing)}",
                field="choices",
            )
        chosen = {purpose_id: sent[purpose_id] for purpose_id in optional}
    else:
        granted = request.action is Action.ACCEPT_ALL
        contradicting = sorted(p for p in optional if p in sent and sent[p] is not granted)
        if contradicting:
            raise InvalidConsent(
                f"{request.action.value} contradicts the choices for: {', '.join(contradicting)}",
                field="choices",
            )
        chosen = dict.fromkeys(optional, granted)
    return {p: True if p in rules.required else chosen[p] for p in rules.purposes}


def build_event(
    loaded: LoadedNotice,
    request: ConsentRequest,
    client: ClientFacts,
    shown_hash: str,
    continues: ProvenConsentId | None = None,
    now: datetime | None = None,
) -> ConsentEvent:
    """Check `request` against the notice and build the log record for it.

    The record continues the consent id `continues` (see proven_consent_id), or starts one.
    """
    if request.notice_version != loaded.version:
        raise StaleNotice(
            "the notice has changed since the visitor saw it",
            field="notice_version",
            current_version=loaded.version,
        )
    choices = decide_choices(loaded, request)
    recorded_at = now or datetime.now(UTC)
    return ConsentEvent(
        site_id=loaded.site_id,
        consent_id=continues or str(uuid.uuid4()),
        notice_version=loaded.version,
        content_hash=shown_hash,
        locale=request.locale,
        action=request.action.value,
        choices=choices,
        source=request.source.value,
        gpc=client.gpc,
        user_agent_family=client.user_agent_family,
        ip_prefix=client.ip_prefix,
        recorded_at=recorded_at,
        expires_at=recorded_at + consent_rules(loaded).lifetime,
    )


def granted_consent_types(
    choices: dict[str, bool], consent_mode: dict[str, list[str]]
) -> list[str]:
    """The Google Consent Mode types a choice grants; security_storage unless a purpose governs it."""
    granted = {
        kind for purpose, kinds in consent_mode.items() if choices.get(purpose) for kind in kinds
    }
    if not any("security_storage" in kinds for kinds in consent_mode.values()):
        granted.add("security_storage")
    return sorted(granted)


def token_payload(
    event: ConsentEvent, hashes: dict[str, str], consent_mode: dict[str, list[str]] | None = None
) -> TokenPayload:
    """What the signed token carries; the embed reads it without a network call."""
    return TokenPayload(
        version=1,
        site=event.site_id,
        consent_id=event.consent_id,
        notice_version=event.notice_version,
        choices={purpose: int(granted) for purpose, granted in event.choices.items()},
        purpose_hashes=hashes,
        consent_types=granted_consent_types(event.choices, consent_mode or {}),
        gpc=int(event.gpc),
        issued_at=int(event.recorded_at.timestamp()),
        expires_at=int(event.expires_at.timestamp()),
    )

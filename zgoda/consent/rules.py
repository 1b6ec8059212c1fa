"""Consent rules: what a notice version asks of a choice, and the record and token built from it.

No Flask request in here: the web layer passes in what it read from HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NewType

from zgoda.consent.request import Action, ClientFacts, ConsentRequest
from zgoda.consent.services import custom_choices
from zgoda.consent.tokens import TokenPayload
from zgoda.errors import InvalidConsent, StaleNotice
from zgoda.notices.loader import LoadedNotice, content_hash
from zgoda.notices.model import ConsentPurpose, Duration, TimeUnit
from zgoda.store.event import ERASED, ConsentEvent

DAYS_PER_UNIT = {TimeUnit.DAY: 1, TimeUnit.MONTH: 30, TimeUnit.YEAR: 365}
# The erasure record (GDPR Art. 17) is made by an operator, not by a visitor.
ERASE_ACTION = "erase"
ADMIN_SOURCE = "admin"
MAX_KEPT_RULES = 256
# How far the browser's time of choice is believed: the embed's retries land within days,
# and a browser's clock may run a few minutes fast.
CHOICE_MAX_DELAY = timedelta(days=7)
CLOCK_SKEW = timedelta(minutes=5)

# A consent id that a genuine token of the site proved its holder was given
# (state.proven_consent_id makes them): the only id a new record may continue.
ProvenConsentId = NewType("ProvenConsentId", str)


def lifetime(duration: Duration) -> timedelta:
    """A consent lifetime as a timedelta (a month counts 30 days, a year 365)."""
    return timedelta(days=duration.value * DAYS_PER_UNIT[duration.unit])


@dataclass(frozen=True)
class ConsentRules:
    """What one notice version asks of a choice: worked out once, used by every caller."""

    site_id: str
    notice_version: str
    purposes: tuple[str, ...]  # in the notice's order
    by_id: Mapping[str, ConsentPurpose]
    optional: tuple[str, ...]  # the purposes a visitor decides
    required: frozenset[str]  # always granted
    # Purpose -> the choice keys of its services ("advertising.facebook_ads"), for the
    # purposes that list services.
    services: Mapping[str, tuple[str, ...]]
    # Every key a record's choices holds: each purpose, then its services' keys.
    choice_keys: tuple[str, ...]
    # A short content hash per purpose: it changes when that purpose's wording does, so a
    # newer notice asks again only about the purposes that changed.
    hashes: Mapping[str, str]
    consent_mode: Mapping[str, list[str]]  # purpose -> Google Consent Mode types
    lifetime: timedelta

    @property
    def optional_keys(self) -> tuple[str, ...]:
        """The keys a visitor decides: each optional purpose, then its services' keys."""
        return tuple(k for p in self.optional for k in (p, *self.services.get(p, ())))

    @property
    def max_age(self) -> int:
        """How many seconds a consent token stays valid: the consent lifetime."""
        return int(self.lifetime.total_seconds())


def build_rules(loaded: LoadedNotice) -> ConsentRules:
    """The rules of a loaded notice."""
    purposes = loaded.notice.cookies.purposes
    known = {purpose.id for purpose in purposes}
    return ConsentRules(
        site_id=loaded.site_id,
        notice_version=loaded.version,
        purposes=tuple(purpose.id for purpose in purposes),
        by_id={purpose.id: purpose for purpose in purposes},
        optional=tuple(purpose.id for purpose in purposes if not purpose.required),
        required=frozenset(purpose.id for purpose in purposes if purpose.required),
        services={p.id: p.service_keys for p in purposes if p.services},
        choice_keys=tuple(key for p in purposes for key in (p.id, *p.service_keys)),
        hashes={p.id: content_hash(p.model_dump(mode="json"))[:8] for p in purposes},
        consent_mode={
            purpose_id: list(types)
            for purpose_id, types in loaded.notice.embed.consent_mode.items()
            if purpose_id in known
        },
        lifetime=lifetime(loaded.notice.embed.consent_lifetime),
    )


_RULES: dict[tuple[str, str], ConsentRules] = {}


def rules_for(loaded: LoadedNotice) -> ConsentRules:
    """The rules of the notice's current version, built on first use (a version names its
    content exactly, so they never go stale; the banners build them at start-up)."""
    key = (loaded.site_id, loaded.version)
    rules = _RULES.get(key)
    if rules is None:
        if len(_RULES) >= MAX_KEPT_RULES:
            _RULES.clear()
        rules = _RULES[key] = build_rules(loaded)
    return rules


def decide_choices(rules: ConsentRules, request: ConsentRequest) -> dict[str, bool]:
    """The final choice per purpose and per service (rules.choice_keys, in that order);
    required purposes are always granted."""
    optional = rules.optional
    sent = request.choices or {}
    unknown = sorted(set(sent) - set(rules.choice_keys))
    if unknown:
        kinds = "purposes or services" if rules.services else "purposes"
        raise InvalidConsent(f"unknown {kinds}: {', '.join(unknown)}", field="choices")
    if request.action is Action.CUSTOM:
        if request.choices is None:
            raise InvalidConsent(
                "a custom choice must decide every optional purpose; missing: "
                + ", ".join(optional),
                field="choices",
            )
        chosen = custom_choices(optional, rules.services, sent)
    else:
        granted = request.action is Action.ACCEPT_ALL
        decided = rules.optional_keys
        contradicting = sorted(k for k in decided if k in sent and sent[k] is not granted)
        if contradicting:
            raise InvalidConsent(
                f"{request.action.value} contradicts the choices for: {', '.join(contradicting)}",
                field="choices",
            )
        chosen = dict.fromkeys(decided, granted)
    return {key: True if key in rules.required else chosen[key] for key in rules.choice_keys}


def build_event(
    rules: ConsentRules,
    request: ConsentRequest,
    client: ClientFacts,
    shown_hash: str,
    continues: ProvenConsentId | None = None,
    now: datetime | None = None,
) -> ConsentEvent:
    """Check `request` against the notice and build the log record for it.

    The record continues the consent id `continues` (see state.proven_consent_id), or
    starts one; `shown_hash` is the hash of the banner text the visitor saw.
    """
    if request.notice_version != rules.notice_version:
        raise StaleNotice(
            "the notice has changed since the visitor saw it",
            field="notice_version",
            current_version=rules.notice_version,
        )
    choices = decide_choices(rules, request)
    recorded_at = now or datetime.now(UTC)
    chosen_at = time_of_choice(request.chosen_at, recorded_at)
    return ConsentEvent(
        site_id=rules.site_id,
        consent_id=continues or str(uuid.uuid4()),
        notice_version=rules.notice_version,
        content_hash=shown_hash,
        locale=request.locale,
        action=request.action.value,
        choices=choices,
        source=request.source.value,
        gpc=client.gpc,
        user_agent_family=client.user_agent_family,
        ip_prefix=client.ip_prefix,
        recorded_at=recorded_at,
        expires_at=recorded_at + rules.lifetime,
        chosen_at=chosen_at,
    )


def time_of_choice(claimed: datetime | None, recorded_at: datetime) -> datetime | None:
    """The browser's time of choice as the log keeps it, or None (unknown).

    The browser's clock is the visitor's: it is believed only within CHOICE_MAX_DELAY
    before receipt (the embed's queue retries for days at most) and CLOCK_SKEW after it; a
    time a little after receipt is receipt itself, since no choice is made after it arrives.
    """
    if claimed is None:
        return None
    if not recorded_at - CHOICE_MAX_DELAY <= claimed <= recorded_at + CLOCK_SKEW:
        return None
    return min(claimed, recorded_at).astimezone(UTC)


def erase_event(loaded: LoadedNotice, now: datetime) -> ConsentEvent:
    """The record that logs an erasure: no personal data, no choices, made by an admin."""
    return ConsentEvent(
        site_id=loaded.site_id,
        consent_id=ERASED,
        notice_version=loaded.version,
        content_hash="0" * 16,
        locale=loaded.notice.default_locale,
        action=ERASE_ACTION,
        choices={},
        source=ADMIN_SOURCE,
        gpc=False,
        user_agent_family=ADMIN_SOURCE,
        ip_prefix=None,
        recorded_at=now,
        expires_at=now,
    )


def granted_consent_types(
    choices: Mapping[str, bool], consent_mode: Mapping[str, list[str]]
) -> list[str]:
    """The Google Consent Mode types a choice grants; security_storage unless a purpose governs it."""
    granted = {
        kind for purpose, kinds in consent_mode.items() if choices.get(purpose) for kind in kinds
    }
    if not any("security_storage" in kinds for kinds in consent_mode.values()):
        granted.add("security_storage")
    return sorted(granted)


def token_payload(event: ConsentEvent, rules: ConsentRules) -> TokenPayload:
    """What the signed token carries; the embed reads it without a network call."""
    return TokenPayload(
        version=1,
        site=event.site_id,
        consent_id=event.consent_id,
        notice_version=event.notice_version,
        choices={purpose: int(granted) for purpose, granted in event.choices.items()},
        purpose_hashes=dict(rules.hashes),
        consent_types=granted_consent_types(event.choices, rules.consent_mode),
        gpc=int(event.gpc),
        issued_at=int(event.recorded_at.timestamp()),
        expires_at=int(event.expires_at.timestamp()),
    )

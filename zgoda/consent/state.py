"""Where a visitor's consent stands: one vocabulary for the API, the pages and the receipts.

A consent is read from a token (the embed's cookie, the hosted form's cookie, a token
handed to a receipt page) or from the latest record of a consent id; either way its
state is one of ConsentState.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from zgoda.consent.rules import ConsentRules, ProvenConsentId
from zgoda.consent.tokens import ConsentTokens, TokenPayload
from zgoda.errors import TokenError, UnprovenConsent
from zgoda.store.event import ConsentEvent


class ConsentState(StrEnum):
    """Where a consent stands."""

    NONE = "none"  # no choice made (no token)
    VALID = "valid"  # made on the current notice, within its lifetime
    STALE = "stale"  # made on an older notice version: ask again
    EXPIRED = "expired"  # past its lifetime: ask again
    FORGED = "forged"  # a token this site did not sign
    MALFORMED = "malformed"  # not a consent token at all
    OTHER_SITE = "other_site"  # a genuine token of another site

    @property
    def in_force(self) -> bool:
        """Whether the choice still applies until the visitor answers again."""
        return self in (ConsentState.VALID, ConsentState.STALE)


@dataclass(frozen=True)
class Consent:
    """A consent as a token or the log has it: its state, its id and the recorded choices."""

    state: ConsentState
    consent_id: str | None = None
    recorded: Mapping[str, bool] = field(default_factory=dict)
    payload: TokenPayload | None = None  # when read from a genuine token
    problem: str = ""  # why a token is not trusted

    @property
    def choices(self) -> Mapping[str, bool]:
        """The choice per purpose while it is in force; nothing otherwise."""
        return self.recorded if self.state.in_force else {}


NO_CONSENT = Consent(ConsentState.NONE)


def state_of(
    notice_version: str, expires_at: datetime, current_version: str, now: datetime | None = None
) -> ConsentState:
    """VALID, STALE or EXPIRED for a genuine choice made on `notice_version`."""
    if expires_at <= (now or datetime.now(UTC)):
        return ConsentState.EXPIRED
    if notice_version != current_version:
        return ConsentState.STALE
    return ConsentState.VALID


def read_consent(tokens: ConsentTokens, rules: ConsentRules, token: str | None) -> Consent:
    """The consent a token carries for the rules' site, or why it carries none."""
    if not token:
        return NO_CONSENT
    try:
        checked = tokens.check(rules.site_id, token, rules.max_age)
    except TokenError as error:
        return Consent(ConsentState(error.reason), problem=error.message)
    payload = checked.payload
    if checked.expired:
        state, problem = ConsentState.EXPIRED, "the consent has expired"
    else:
        expires_at = datetime.fromtimestamp(payload.expires_at, UTC)
        state, problem = state_of(payload.notice_version, expires_at, rules.notice_version), ""
    return Consent(state, payload.consent_id, payload.granted, payload, problem)


def recorded_consent(
    event: ConsentEvent, rules: ConsentRules, now: datetime | None = None
) -> Consent:
    """The consent the latest record of a consent id gives."""
    state = state_of(event.notice_version, event.expires_at, rules.notice_version, now)
    return Consent(state, event.consent_id, dict(event.choices))


def proven_consent_id(tokens: ConsentTokens, rules: ConsentRules, token: str) -> ProvenConsentId:
    """The consent id the site gave the holder of `token` (expired too), or UnprovenConsent.

    Anyone who saw a receipt URL knows a consent id; only its holder has a token for it.
    """
    try:
        checked = tokens.check(rules.site_id, token, rules.max_age)
    except TokenError as error:
        raise UnprovenConsent(
            f"the token does not prove a consent of this site: {error.message}", field="token"
        ) from error
    return ProvenConsentId(checked.payload.consent_id)

"""Consent: what a visitor asks (request), what a notice allows (rules), where a consent
stands (state), and the signed token that carries it (tokens).

The web layer translates HTTP into these calls and back; nothing here reads a request.
"""

from zgoda.consent.request import Action, ClientFacts, ConsentRequest, Source
from zgoda.consent.rules import (
    ConsentRules,
    ProvenConsentId,
    build_event,
    erase_event,
    granted_consent_types,
    lifetime,
    rules_for,
    token_payload,
)
from zgoda.consent.services import PurposeChoice, purpose_choice
from zgoda.consent.state import (
    Consent,
    ConsentState,
    proven_consent_id,
    read_consent,
    recorded_consent,
    state_of,
)

__all__ = [
    "Action",
    "ClientFacts",
    "Consent",
    "ConsentRequest",
    "ConsentRules",
    "ConsentState",
    "ProvenConsentId",
    "PurposeChoice",
    "Source",
    "build_event",
    "erase_event",
    "granted_consent_types",
    "lifetime",
    "proven_consent_id",
    "purpose_choice",
    "read_consent",
    "recorded_consent",
    "rules_for",
    "state_of",
    "token_payload",
]

"""Consent receipts: one consent id's state and history, as a Kantara Consent Receipt (v1.1).

No Flask request in here: the web layer finds and authorises the history, then asks
for its status or its receipt.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from zgoda.consent import (
    Action,
    ConsentState,
    PurposeChoice,
    purpose_choice,
    recorded_consent,
    rules_for,
)
from zgoda.consent.services import allowed_services
from zgoda.notices.loader import LoadedNotice
from zgoda.notices.model import ConsentPurpose, NotStated
from zgoda.store.chain import canonical_time
from zgoda.store.log import LoggedEvent

RECEIPT_VERSION = "KI-CR-v1.1.0"
# consentReceiptID = uuid5(this, "<site>/<consent id>/<sequence of the latest event>").
RECEIPT_NAMESPACE = uuid.UUID("5b0e1f8e-4a3c-5d2b-9c61-7a0e2f3d4b5c")

# The receipt's summary: the consent's state, and for a valid one what the choice says.
Status = Literal["active", "withdrawn", "refused", "stale", "expired"]


def receipt_id(site_id: str, consent_id: str, sequence: int) -> str:
    """The same receipt id for the same state of a consent; a new one after each new event."""
    return str(uuid.uuid5(RECEIPT_NAMESPACE, f"{site_id}/{consent_id}/{sequence}"))


def consent_status(
    loaded: LoadedNotice, latest: LoggedEvent, now: datetime | None = None
) -> Status:
    """Where the consent stands: expired, given for an older notice, withdrawn, refused, or active."""
    event = latest.event
    rules = rules_for(loaded)
    state = recorded_consent(event, rules, now).state
    if state is ConsentState.EXPIRED:
        return "expired"
    if state is ConsentState.STALE:
        return "stale"
    if event.action == Action.WITHDRAW:
        return "withdrawn"
    # A service allowed under an otherwise refused purpose is a consent given too.
    if not any(event.choices.get(key) for key in rules.optional_keys):
        return "refused"
    return "active"


def consent_receipt(
    loaded: LoadedNotice,
    history: Sequence[LoggedEvent],
    policy_url: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The receipt of a consent's latest state, with its history and each event's chain link.

    `services[].purposes` lists only the purposes the latest choice grants, as a
    Kantara receipt does, a partly allowed one (some of its services) too, naming only
    the allowed services' providers and, in `allowedServices` (an extension), their ids;
    `choices` (an extension) keeps the refusals too.
    """
    latest = history[-1]
    event = latest.event
    notice = loaded.notice
    controller = notice.controller
    contact = controller.contact
    email = "" if isinstance(contact.email, NotStated) else contact.email
    address = contact.postal_address or controller.address
    rules = rules_for(loaded)
    granted = [
        rules.by_id[purpose_id]
        for purpose_id in rules.optional
        if purpose_choice(rules.by_id[purpose_id], event.choices) is not PurposeChoice.OFF
    ]
    return {
        "version": RECEIPT_VERSION,
        "jurisdiction": controller.address.country,
        "consentTimestamp": int(event.recorded_at.timestamp()),
        "collectionMethod": event.source,
        "consentReceiptID": receipt_id(loaded.site_id, event.consent_id, latest.sequence),
        "language": event.locale,
        "piiPrincipalId": event.consent_id,
        "piiControllers": [
            {
                "piiController": controller.name,
                "onBehalf": False,
                "contact": email or ", ".join(contact.phone),
                "address": {
                    "streetAddress": address.street,
                    "postalCode": address.postal_code or "",
                    "addressLocality": address.city,
                    "addressCountry": address.country,
                },
                "email": email,
                "phone": ", ".join(contact.phone),
                "piiControllerUrl": notice.website or "",
            }
        ],
        "policyUrl": policy_url,
        "services": [
            {
                "service": notice.site_name,
                "purposes": [
                    _purpose(purpose, event.choices, event.locale, event.expires_at)
                    for purpose in granted
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
        # Zgoda's extensions.
        "status": consent_status(loaded, latest, now),
        "notice_version": event.notice_version,
        "choices": dict(event.choices),
        "history": [_history_entry(logged) for logged in history],
    }


def _purpose(
    purpose: ConsentPurpose, choices: Mapping[str, bool], locale: str, expires_at: datetime
) -> dict[str, Any]:
    cookies = [] if isinstance(purpose.cookies, NotStated) else purpose.cookies
    third_parties = list(dict.fromkeys(c.provider for c in cookies if c.party == "third"))
    services = allowed_services(purpose, choices)
    if purpose.services:
        # Only the services allowed see the data: a refused ad network is no recipient.
        third_parties = list(dict.fromkeys(service.provider for service in services))
    entry = {
        "purpose": purpose.name.get(locale),
        "purposeCategory": [purpose.id],
        "consentType": "EXPLICIT",
        "piiCategory": [],
        "primaryPurpose": False,
        "termination": canonical_time(expires_at),
        "thirdPartyDisclosure": bool(third_parties),
        "thirdPartyName": ", ".join(third_parties),
    }
    if purpose.services:
        entry["allowedServices"] = [service.id for service in services]
    return entry


def _history_entry(logged: LoggedEvent) -> dict[str, Any]:
    event = logged.event
    return {
        "recorded_at": canonical_time(event.recorded_at),
        "chosen_at": None if event.chosen_at is None else canonical_time(event.chosen_at),
        "action": event.action,
        "choices": dict(event.choices),
        "notice_version": event.notice_version,
        "content_hash": event.content_hash,
        "locale": event.locale,
        "source": event.source,
        "gpc": event.gpc,
        "expires_at": canonical_time(event.expires_at),
        "sequence": logged.sequence,
        "record_hash": logged.record_hash,
    }

"""Per-service choices: how a purpose's services and the purpose itself decide each other.

A purpose that lists services is allowed only when all of them are; with some allowed it is
"partly on" and its own value is false, so whatever acts per purpose (Consent Mode types,
a page gating by purpose) stays off until every service of it is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from zgoda.errors import InvalidConsent
from zgoda.notices.model import ConsentPurpose, ConsentService


class PurposeChoice(StrEnum):
    """Where a visitor's choice leaves a purpose."""

    ON = "on"
    PARTLY = "partly"  # some of its services allowed, not all
    OFF = "off"


def purpose_choice(purpose: ConsentPurpose, choices: Mapping[str, bool]) -> PurposeChoice:
    """ON, PARTLY or OFF for `purpose` in a recorded choice (required purposes are ON)."""
    if purpose.required or choices.get(purpose.id):
        return PurposeChoice.ON
    if any(choices.get(key) for key in purpose.service_keys):
        return PurposeChoice.PARTLY
    return PurposeChoice.OFF


def allowed_services(purpose: ConsentPurpose, choices: Mapping[str, bool]) -> list[ConsentService]:
    """The services of `purpose` that a recorded choice allows, in the notice's order."""
    return [s for s in purpose.services if choices.get(purpose.service_key(s))]


def custom_choices(
    optional: tuple[str, ...], services: Mapping[str, tuple[str, ...]], sent: Mapping[str, bool]
) -> dict[str, bool]:
    """The choice per optional purpose and per service of it, from a custom choice's `sent`.

    A service the visitor did not send takes its purpose's value (a client that knows only
    purposes still works); a purpose not sent is allowed when all its services are. Raises
    InvalidConsent (field `choices`) when a purpose is decided neither way, or when a purpose
    sent contradicts its services.
    """
    chosen: dict[str, bool] = {}
    missing: list[str] = []
    contradicting: list[str] = []
    for purpose_id in optional:
        keys = services.get(purpose_id, ())
        if purpose_id in sent:
            values = {key: sent.get(key, sent[purpose_id]) for key in keys}
            if keys and sent[purpose_id] is not all(values.values()):
                contradicting.append(purpose_id)
            chosen[purpose_id] = sent[purpose_id]
        else:
            absent = [key for key in keys if key not in sent]
            if not keys or len(absent) == len(keys):
                missing.append(purpose_id)
                continue
            if absent:
                missing.extend(absent)
                continue
            values = {key: sent[key] for key in keys}
            chosen[purpose_id] = all(values.values())
        chosen |= values
    if missing:
        raise InvalidConsent(
            f"a custom choice must decide every optional purpose; missing: {', '.join(missing)}",
            field="choices",
        )
    if contradicting:
        raise InvalidConsent(
            "a purpose with services is allowed exactly when all its services are; the "
            f"choices contradict for: {', '.join(contradicting)}",
            field="choices",
        )
    return chosen

"""The policy-data model rejects incomplete or inconsistent statements."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from zgoda.notices.model import (
    AutomatedDecisions,
    Duration,
    NotStated,
    Purpose,
    Retention,
    Safeguard,
    Text,
    TimeUnit,
    Transfers,
)

TEXT = {"pl": "tekst", "en": "text"}


def purpose(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "contract",
        "name": TEXT,
        "legal_bases": ["b"],
        "retention": [{"criterion": TEXT}],
    }
    return base | overrides


def test_text_needs_both_languages() -> None:
    with pytest.raises(ValidationError, match="en"):
        Text.model_validate({"pl": "tylko po polsku"})


def test_text_rejects_empty_wording() -> None:
    with pytest.raises(ValidationError):
        Text.model_validate({"pl": "", "en": "x"})


def test_text_get_picks_the_language() -> None:
    text = Text(pl="zgoda", en="consent")
    assert (text.get("pl"), text.get("en")) == ("zgoda", "consent")


def test_legitimate_interest_is_required_for_basis_f() -> None:
    with pytest.raises(ValidationError, match="legitimate_interest"):
        Purpose.model_validate(purpose(legal_bases=["f"]))
    assert Purpose.model_validate(purpose(legal_bases=["f"], legitimate_interest=TEXT))


def test_unknown_legal_basis_is_rejected() -> None:
    with pytest.raises(ValidationError, match="'a', 'b', 'c', 'd', 'e' or 'f'"):
        Purpose.model_validate(purpose(legal_bases=["g"]))


def test_retention_needs_a_period_or_a_criterion() -> None:
    with pytest.raises(ValidationError, match="period, a criterion"):
        Retention.model_validate({})
    retention = Retention.model_validate({"period": {"value": 6, "unit": "year"}})
    assert retention.period == Duration(value=6, unit=TimeUnit.YEAR)


def test_duration_must_be_positive() -> None:
    with pytest.raises(ValidationError):
        Duration.model_validate({"value": 0, "unit": "day"})


def test_not_stated_is_accepted_where_a_source_is_silent() -> None:
    parsed = Purpose.model_validate(purpose(retention={"not_stated": TEXT}))
    assert parsed.retention.not_stated.en == "text"  # type: ignore[union-attr]


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Purpose.model_validate(purpose(colour="blue"))


def test_automated_decisions_and_profiling_can_each_be_not_stated() -> None:
    silent = AutomatedDecisions.model_validate(
        {"profiling": True, "automated_decisions": {"not_stated": TEXT}}
    )
    assert isinstance(silent.automated_decisions, NotStated)
    assert silent.logic is None  # nothing to explain when the source says nothing
    both = AutomatedDecisions.model_validate(
        {"profiling": {"not_stated": TEXT}, "automated_decisions": False, "logic": TEXT}
    )
    assert isinstance(both.profiling, NotStated)
    assert both.automated_decisions is False


def test_an_invalid_safeguard_is_kept_apart_from_the_valid_ones() -> None:
    transfers = Transfers.model_validate(
        {"outside_eea": True, "safeguards": ["standard_contractual_clauses", "privacy_shield"]}
    )
    assert transfers.valid_safeguards == [Safeguard.STANDARD_CONTRACTUAL_CLAUSES]
    assert transfers.invalid_safeguards == [Safeguard.PRIVACY_SHIELD]

"""Building blocks shared by every part of the policy data: wording, gaps, durations."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Locale = Literal["pl", "en"]
LOCALES: tuple[Locale, ...] = ("pl", "en")
SLUG_PATTERN = r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$"


class Strict(BaseModel):
    """Base for every notice model: unknown fields are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """Organisation-specific wording in both languages."""

    pl: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]

    def get(self, locale: str) -> str:
        """The wording for `locale`, falling back to English."""
        return self.pl if locale == "pl" else self.en


class NotStated(Strict):
    """An item the controller does not state; `not_stated` tells the reader so, in their words."""

    not_stated: Text


class TimeUnit(StrEnum):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


class Duration(Strict):
    """A number of days, months or years."""

    value: Annotated[int, Field(gt=0)]
    unit: TimeUnit

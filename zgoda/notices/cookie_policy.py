"""The cookie policy and the banner settings of a notice."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from zgoda.notices.base import SLUG_PATTERN, Duration, NotStated, Strict, Text, TimeUnit


class Cookie(Strict):
    """A cookie or a service that sets cookies under one consent purpose."""

    name: str
    provider: str
    party: Literal["first", "third"]
    duration: Duration | Literal["session"] | NotStated
    description: Text | None = None
    ad_vendor: bool = False


class ConsentPurpose(Strict):
    """A purpose a visitor accepts or refuses in the banner; `required` ones are always on."""

    id: Annotated[str, Field(pattern=SLUG_PATTERN)]
    name: Text
    description: Text
    required: bool = False
    cookies: list[Cookie] | NotStated


class CookiePolicy(Strict):
    """The cookie policy: purposes with their cookies."""

    purposes: Annotated[list[ConsentPurpose], Field(min_length=1)]
    notes: list[Text] = []

    @model_validator(mode="after")
    def _unique_purpose_ids(self) -> CookiePolicy:
        ids = [purpose.id for purpose in self.purposes]
        if len(ids) != len(set(ids)):
            raise ValueError(f"purpose ids must be unique, got {ids}")
        return self


# A host name of two labels or more, lower case, without a scheme, port or leading dot.
DOMAIN_PATTERN = r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$"

ConsentModeType = Literal[
    "ad_storage",
    "ad_user_data",
    "ad_personalization",
    "analytics_storage",
    "functionality_storage",
    "personalization_storage",
    "security_storage",
]

# Consent signals besides Google Consent Mode, sent from the same types where a notice asks:
# Microsoft UET consent mode (ad_storage) and Microsoft Clarity consent v2 (ad_Storage,
# analytics_Storage).
ConsentSignal = Literal["microsoft_uet", "microsoft_clarity"]

DEFAULT_CONSENT_MODE: dict[str, list[ConsentModeType]] = {
    "statistics": ["analytics_storage"],
    "advertising": ["ad_storage", "ad_user_data", "ad_personalization"],
}


class EmbedSettings(Strict):
    """How the banner behaves on the organisation's websites (not a legal statement)."""

    allowed_origins: list[Annotated[str, Field(pattern=r"^https?://[a-z0-9.-]+(:[0-9]+)?$")]] = []
    # The organisation's own domains: https pages on them and their subdomains may call the
    # API, with no origin list to keep beside them.
    domains: list[Annotated[str, Field(pattern=DOMAIN_PATTERN)]] = []
    consent_lifetime: Duration = Duration(value=6, unit=TimeUnit.MONTH)
    consent_mode: dict[str, list[ConsentModeType]] = DEFAULT_CONSENT_MODE
    consent_signals: list[ConsentSignal] = []

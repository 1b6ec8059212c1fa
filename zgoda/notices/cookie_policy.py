"""The cookie policy and the banner settings of a notice."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from zgoda.notices.base import SLUG_PATTERN, Duration, NotStated, Strict, Text, TimeUnit


class Cookie(Strict):
    """A cookie or a service that sets cookies under one consent purpose."""

    name: str
    provider: str
    party: Literal["first", "third"]
    duration: Duration | Literal["session"] | NotStated
    description: Text | None = None
    ad_vendor: bool = False


# A choice key is what a record's choices, a token's `ch` and the export carry: a purpose id,
# or "<purpose id>.<service id>"; a token keeps keys of at most this many characters.
MAX_CHOICE_KEY = 64
SERVICE_SEPARATOR = "."


class ConsentService(Strict):
    """A service (an ad network, a tool) a visitor may allow or refuse within one purpose."""

    id: Annotated[str, Field(pattern=SLUG_PATTERN)]
    name: Annotated[str, Field(min_length=1)]
    provider: Annotated[str, Field(min_length=1)]
    description: Text | None = None


class ConsentPurpose(Strict):
    """A purpose a visitor accepts or refuses in the banner; `required` ones are always on.

    An optional purpose may list `services`: the visitor then chooses each, and the purpose
    counts as allowed only when all of them are.
    """

    id: Annotated[str, Field(pattern=SLUG_PATTERN)]
    name: Text
    description: Text
    required: bool = False
    cookies: list[Cookie] | NotStated
    services: list[ConsentService] = []

    @field_validator("services")
    @classmethod
    def _services_fit(cls, services: list[ConsentService], info: ValidationInfo) -> Any:
        if services and info.data.get("required"):
            raise ValueError("a required purpose is always on: it cannot list services to choose")
        purpose_id = info.data.get("id", "")
        for service in services:
            key = f"{purpose_id}{SERVICE_SEPARATOR}{service.id}"
            if len(key) > MAX_CHOICE_KEY:
                raise ValueError(
                    f"the choice key {key!r} is {len(key)} characters long; purpose id, '.' "
                    f"and service id may take {MAX_CHOICE_KEY} at most"
                )
        return services

    @model_serializer(mode="wrap")
    def _without_empty_services(self, handler: SerializerFunctionWrapHandler) -> Any:
        # A purpose without services dumps as it did before services existed, so its
        # content hash and its notice's version stay the same.
        data = handler(self)
        if not self.services and isinstance(data, dict):
            data.pop("services", None)
        return data

    def service_key(self, service: ConsentService) -> str:
        """The choice key of one of this purpose's services, e.g. advertising.facebook_ads."""
        return f"{self.id}{SERVICE_SEPARATOR}{service.id}"

    @property
    def service_keys(self) -> tuple[str, ...]:
        """The choice keys of this purpose's services, in the notice's order."""
        return tuple(self.service_key(service) for service in self.services)


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

    @model_validator(mode="after")
    def _unique_service_ids(self) -> CookiePolicy:
        # A page gates a script by service id alone, so an id names one service in the notice.
        seen: dict[str, str] = {}
        for index, purpose in enumerate(self.purposes):
            for number, service in enumerate(purpose.services):
                if service.id in seen:
                    # Raised at the service's own place, so the error names its line.
                    problem = PydanticCustomError(
                        "duplicate_service",
                        f"service id {service.id!r} is already used under purpose "
                        f"{seen[service.id]!r}; service ids must be unique across the notice",
                    )
                    detail = InitErrorDetails(
                        type=problem,
                        loc=("purposes", index, "services", number, "id"),
                        input=service.id,
                    )
                    raise ValidationError.from_exception_data(type(self).__name__, [detail])
                seen[service.id] = purpose.id
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

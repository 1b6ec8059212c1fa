"""What a visitor asks for: the body of a consent write, and the facts kept about the browser."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool

from zgoda.consent.tokens import MAX_TOKEN_LENGTH


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
    """The body of POST /api/v1/sites/<site>/consents (the hosted form builds one too)."""

    model_config = ConfigDict(extra="forbid")

    action: Action
    notice_version: Annotated[str, Field(min_length=1, max_length=64)]
    locale: Literal["pl", "en"]
    choices: dict[Annotated[str, Field(max_length=64)], StrictBool] | None = Field(
        default=None,
        description="Allowed or not, per optional purpose id; for a purpose that lists "
        "services, per service too, keyed `<purpose>.<service>`. A service left out takes "
        "its purpose's value; a purpose left out is allowed when all its services are; a "
        "purpose sent with services that say otherwise is refused (422). Required for "
        "`custom`; with the other actions it may only repeat what the action decides.",
    )
    token: Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_LENGTH)] | None = Field(
        default=None,
        description="The visitor's previous token (the embed's `zgoda_consent` cookie): the "
        "choice continues its consent id, expired tokens too. Without it the choice starts "
        "a new consent id.",
    )
    source: Source = Source.API
    # The embed reads navigator.globalPrivacyControl; not every browser sends Sec-GPC.
    gpc: StrictBool = False
    chosen_at: AwareDatetime | None = Field(
        default=None,
        description="When the visitor chose, by the browser's clock (the embed records a "
        "choice in the background and retries it). The log keeps it beside the time it "
        "received the choice when it is at most 7 days before that and not after it (5 "
        "minutes of clock difference allowed); otherwise the time of choice is logged as "
        "unknown.",
    )

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

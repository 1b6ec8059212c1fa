"""What a scan saw: cookies, storage keys and third-party requests per page and state.

Plain frozen dataclasses, with `as_dict`/`from_dict` so a scan can be stored as JSON and read
back for the dashboard without the browser.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class ScanState(StrEnum):
    """The three moments a page is looked at, each in a fresh browser context."""

    BEFORE = "before_choice"
    REJECTED = "after_reject_all"
    ACCEPTED = "after_accept_all"


@dataclass(frozen=True)
class ObservedCookie:
    """A cookie in the browser's jar at the end of a state."""

    name: str
    domain: str
    path: str
    expires: float | None  # Unix time; None for a session cookie
    secure: bool
    http_only: bool
    same_site: str
    first_party: bool
    set_by: str | None = None  # the response or script that set it, where Chromium said so

    def lifetime_days(self, seen_at: float) -> float | None:
        """Days from `seen_at` until the cookie expires; None for a session cookie."""
        return None if self.expires is None else (self.expires - seen_at) / 86400


@dataclass(frozen=True)
class StorageKey:
    """A key in the page origin's localStorage or sessionStorage."""

    area: str  # "localStorage" or "sessionStorage"
    key: str


@dataclass(frozen=True)
class ThirdPartyRequest:
    """A request to another site than the page's."""

    url: str
    host: str
    resource_type: str
    sent_cookies: bool
    pixel_like: bool
    after_choice: bool  # made after the banner's button was pressed (or in the first state)


@dataclass(frozen=True)
class StateObservation:
    """Everything one page showed in one state."""

    page: str
    state: ScanState
    seen_at: float  # Unix time the cookies were read
    cookies: tuple[ObservedCookie, ...] = ()
    storage: tuple[StorageKey, ...] = ()
    requests: tuple[ThirdPartyRequest, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The observation as JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StateObservation:
        """An observation read back from `as_dict` output."""
        return cls(
            page=data["page"],
            state=ScanState(data["state"]),
            seen_at=data["seen_at"],
            cookies=tuple(ObservedCookie(**c) for c in data["cookies"]),
            storage=tuple(StorageKey(**s) for s in data["storage"]),
            requests=tuple(ThirdPartyRequest(**r) for r in data["requests"]),
        )


@dataclass(frozen=True)
class ScanRun:
    """A whole scan: the pages, what each state showed, and what could not be looked at."""

    url: str
    started_at: float
    finished_at: float
    pages: tuple[str, ...]
    observations: tuple[StateObservation, ...]
    consent_tool_hosts: tuple[str, ...] = ()  # Zgoda's own host(s), serving the banner
    notes: tuple[str, ...] = field(default=())  # e.g. a page without Zgoda's banner

    def as_dict(self) -> dict[str, Any]:
        """The run as JSON-ready data."""
        return {
            "url": self.url,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "pages": list(self.pages),
            "consent_tool_hosts": list(self.consent_tool_hosts),
            "notes": list(self.notes),
            "observations": [o.as_dict() for o in self.observations],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanRun:
        """A run read back from `as_dict` output."""
        return cls(
            url=data["url"],
            started_at=data["started_at"],
            finished_at=data["finished_at"],
            pages=tuple(data["pages"]),
            observations=tuple(StateObservation.from_dict(o) for o in data["observations"]),
            consent_tool_hosts=tuple(data.get("consent_tool_hosts", ())),
            notes=tuple(data.get("notes", ())),
        )

"""One recorded choice, as a caller hands it to the consent log."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ConsentEvent:
    """One recorded choice: what was shown, what was chosen, and how."""

    site_id: str
    consent_id: str
    notice_version: str
    content_hash: str
    locale: str
    action: str
    choices: dict[str, bool]
    source: str
    gpc: bool
    user_agent_family: str
    ip_prefix: str | None
    recorded_at: datetime
    expires_at: datetime
    # When the visitor chose, if the browser said so (a retried write lands later); else None.
    chosen_at: datetime | None = None

    def record(self) -> dict[str, Any]:
        """The fields as a new dict (dataclasses.asdict deep-copies, which is slow)."""
        record = {name: getattr(self, name) for name in EVENT_FIELDS}
        record["choices"] = dict(self.choices)
        return record


EVENT_FIELDS = tuple(field.name for field in fields(ConsentEvent))
# What an erased record's identifying parts become, and the consent id of the erasure's record.
ERASED = "erased"

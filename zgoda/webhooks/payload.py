"""What a webhook says about a consent event, and its Standard Webhooks signature headers.

The body names the site, the consent id, the action, the choice per purpose and service,
the notice version and the times; never the visitor's network or browser family, which the
log keeps for evidence only. It is built once, when the event is written, and stored, so
every retry sends the same bytes under the same webhook-id.

Signing uses `standardwebhooks` (PyPI, MIT, by the specification's authors, no
dependencies): webhook-signature is "v1," and the base64 HMAC-SHA256 of
"<webhook-id>.<webhook-timestamp>.<body>" under the whsec_ secret's key.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

CONSENT_EVENT_TYPE = "consent.recorded"
TEST_EVENT_TYPE = "webhook.test"
# The record's fields a receiver gets; ip_prefix and user_agent_family are left out on purpose.
DATA_FIELDS = ("consent_id", "action", "choices", "notice_version", "sequence")


def new_message_id() -> str:
    """A webhook-id: unique per event, kept across its retries for receivers to deduplicate."""
    return "msg_" + uuid.uuid4().hex


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_body(record: dict[str, Any]) -> str:
    """The JSON body for one consent log record (as the appender linked it)."""
    data: dict[str, Any] = {"site": record["site_id"]}
    data |= {name: record[name] for name in DATA_FIELDS}
    data["recorded_at"] = _time(record["recorded_at"])
    data["chosen_at"] = _time(record.get("chosen_at"))
    return _envelope(CONSENT_EVENT_TYPE, record["recorded_at"], data)


def test_body(site: str, now: datetime) -> str:
    """The JSON body of `webhooks test`: a signed event that is not a consent."""
    return _envelope(TEST_EVENT_TYPE, now, {"site": site})


def _envelope(event_type: str, at: datetime, data: dict[str, Any]) -> str:
    # The specification's payload shape: type, timestamp, data.
    envelope = {"type": event_type, "timestamp": _time(at), "data": data}
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True)


def signed_headers(message_id: str, body: str, secret: str, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for sending `body` now (the timestamp is the attempt's)."""
    sent_at = datetime.fromtimestamp(int(now.timestamp()), UTC)
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, sent_at, body),
    }

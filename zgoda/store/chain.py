"""The consent log's hash chain: what each record's hash covers, and how to check a chain.

Each record's hash covers its content and the previous record's hash of the same site,
so editing, deleting, inserting or reordering records breaks the chain at that point.
The visitor-identifying parts are hashed separately (`personal_hash`): erasing them on
request (GDPR Art. 17) keeps that hash as a tombstone, and the chain still verifies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
# What a record's hash covers, besides the previous hash and the personal hash.
HASHED_FIELDS = (
    "site_id",
    "sequence",
    "recorded_at",
    "notice_version",
    "content_hash",
    "locale",
    "action",
    "choices",
    "source",
    "gpc",
    "expires_at",
)
PERSONAL_FIELDS = ("consent_id", "user_agent_family", "ip_prefix")
TIME_FIELDS = ("recorded_at", "expires_at")


def canonical_time(value: datetime | str) -> str:
    """UTC, microseconds, 'Z': the one spelling of a time that hashes are computed over."""
    moment = (
        datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def personal_hash(record: Mapping[str, Any]) -> str:
    """The hash of the parts that identify a visitor (kept as a tombstone after erasure)."""
    return _digest({field: record[field] for field in PERSONAL_FIELDS})


def link_hash(prev_hash: str, record: Mapping[str, Any]) -> str:
    """A record's hash: its content, its personal hash and the previous record's hash."""
    content = {field: record[field] for field in HASHED_FIELDS}
    for field in TIME_FIELDS:
        content[field] = canonical_time(content[field])
    content["choices"] = {str(k): bool(v) for k, v in dict(content["choices"]).items()}
    content["gpc"] = bool(content["gpc"])
    content["sequence"] = int(content["sequence"])
    return _digest([prev_hash, content, record["personal_hash"]])


@dataclass(frozen=True)
class ChainReport:
    """The result of checking a chain: how many records, and the first broken one if any."""

    checked: int
    first_sequence: int | None
    last_hash: str | None
    broken_at: int | None = None  # the sequence (or row number) of the first bad record
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """Whether every record checked out."""
        return self.problem is None


def verify_records(
    records: Iterable[Mapping[str, Any]],
    anchor_hash: str | None = None,
    anchor_sequence: int | None = None,
) -> ChainReport:
    """Check records of one site in sequence order; stop at the first broken one.

    Without an anchor, the first record's own `prev_hash` is trusted as the start (an
    export of a time range starts mid-chain); with one, it must match.
    """
    expected_prev, expected_sequence = anchor_hash, anchor_sequence
    checked, first, last = 0, None, None
    for record in records:
        sequence = int(record["sequence"])
        first = sequence if first is None else first
        problem = _problem(record, sequence, expected_prev, expected_sequence)
        if problem is not None:
            return ChainReport(checked, first, last, broken_at=sequence, problem=problem)
        expected_prev, expected_sequence = record["record_hash"], sequence
        checked, last = checked + 1, record["record_hash"]
    return ChainReport(checked, first, last)


def _problem(
    record: Mapping[str, Any],
    sequence: int,
    expected_prev: str | None,
    expected_sequence: int | None,
) -> str | None:
    """What is wrong with one record, given what the chain so far expects; None if nothing."""
    if expected_sequence is not None and sequence != expected_sequence + 1:
        what = "missing (deleted)" if sequence > expected_sequence + 1 else "out of order"
        return f"record {expected_sequence + 1} is {what}; found {sequence}"
    if expected_prev is not None and record["prev_hash"] != expected_prev:
        return "prev_hash does not match the previous record's hash"
    if not record.get("erased") and personal_hash(record) != record["personal_hash"]:
        return "the consent id, browser or network was changed"
    if link_hash(record["prev_hash"], record) != record["record_hash"]:
        return "the record's content does not match its hash"
    return None

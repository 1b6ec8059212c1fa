"""Checking a run of records against the hash chain; the first broken record and why."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from zgoda.store.chain import RecordParts, canonical_time, link_text, personal_text


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


PERSONAL_CHANGED = "the consent id, browser or network was changed"
CONTENT_CHANGED = "the record's content does not match its hash"


def _order_problem(
    sequence: int, prev_hash: Any, expected_prev: str | None, expected_sequence: int | None
) -> str | None:
    if expected_sequence is not None and sequence != expected_sequence + 1:
        what = "missing (deleted)" if sequence > expected_sequence + 1 else "out of order"
        return f"record {expected_sequence + 1} is {what}; found {sequence}"
    if expected_prev is not None and prev_hash != expected_prev:
        return "prev_hash does not match the previous record's hash"
    return None


def verify_parts(
    rows: Iterable[RecordParts[str]],
    anchor_hash: str | None = None,
    anchor_sequence: int | None = None,
    spell_times: bool = False,
) -> ChainReport:
    """Check records of one site in sequence order; stop at the first broken one.

    Without an anchor, the first record's own `prev_hash` is trusted as the start (an
    export of a time range starts mid-chain); with one, it must match. With
    `spell_times`, the times are passed through `canonical_time` first (an export
    file's, whose errors must surface at the record that holds them).
    """
    expected_prev, expected_sequence = anchor_hash, anchor_sequence
    checked, first, last = 0, None, None
    sha256, spell_personal, spell_link = hashlib.sha256, personal_text, link_text
    # Unpacked in RecordParts' order (one step, not 19 attribute loads); a test checks it.
    for (
        sequence,
        site_id,
        recorded_at,
        notice_version,
        content_hash,
        locale,
        action,
        choices,
        source,
        gpc,
        expires_at,
        chosen_at,
        consent_id,
        user_agent_family,
        ip_prefix,
        erased,
        personal_hash,
        prev_hash,
        record_hash,
    ) in rows:
        if first is None:
            first = sequence
        problem = None
        if (expected_sequence is not None and sequence != expected_sequence + 1) or (
            expected_prev is not None and prev_hash != expected_prev
        ):
            problem = _order_problem(sequence, prev_hash, expected_prev, expected_sequence)
        elif (
            not erased
            and sha256(
                spell_personal(consent_id, user_agent_family, ip_prefix).encode("utf-8")
            ).hexdigest()
            != personal_hash
        ):
            problem = PERSONAL_CHANGED
        else:
            if spell_times:
                recorded_at = canonical_time(recorded_at)
                expires_at = canonical_time(expires_at)
                if chosen_at is not None:
                    chosen_at = canonical_time(chosen_at)
            text = spell_link(
                prev_hash,
                site_id,
                sequence,
                recorded_at,
                notice_version,
                content_hash,
                locale,
                action,
                choices,
                source,
                gpc,
                expires_at,
                chosen_at,
                personal_hash,
            )
            if sha256(text.encode("utf-8")).hexdigest() != record_hash:
                problem = CONTENT_CHANGED
        if problem is not None:
            return ChainReport(checked, first, last, broken_at=sequence, problem=problem)
        expected_prev = last = record_hash
        expected_sequence = sequence
        checked += 1
    return ChainReport(checked, first, last)

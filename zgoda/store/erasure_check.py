"""Checking a chain whose `erased` flags come from outside the database, as an export's do.

The chain does not hash the erased flag (erasure happens after the fact), so a record
marked erased must really be erased, or a changed consent id could hide behind the flag.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from zgoda.store.chain import RecordParts
from zgoda.store.event import ERASED
from zgoda.store.verify import ChainReport, verify_parts

FALSELY_ERASED = "marked erased but still holds a consent id, browser or network"
TOMBSTONE = (ERASED, ERASED, None)


def verify_parts_and_erasures(
    rows: Iterable[RecordParts[Any]],
    anchor_hash: str | None = None,
    anchor_sequence: int | None = None,
    spell_times: bool = False,
) -> ChainReport:
    """`verify_parts`, with a record marked erased but holding personal data as the break."""
    falsely_erased: list[int] = []

    def checked(rows: Iterable[RecordParts[Any]]) -> Iterator[RecordParts[Any]]:
        # verify_parts takes the next record only once every earlier one checked out, so
        # ending the stream here leaves it with the report of the records before this one.
        for row in rows:
            personal = (row.consent_id, row.user_agent_family, row.ip_prefix)
            if row.erased and personal != TOMBSTONE:
                falsely_erased.append(row.sequence)
                return
            yield row

    report = verify_parts(checked(rows), anchor_hash, anchor_sequence, spell_times)
    if not falsely_erased:
        return report
    sequence = falsely_erased[0]
    return ChainReport(
        report.checked,
        sequence if report.first_sequence is None else report.first_sequence,
        report.last_hash,
        broken_at=sequence,
        problem=FALSELY_ERASED,
    )

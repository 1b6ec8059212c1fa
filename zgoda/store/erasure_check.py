"""Checking a chain whose `erased` flags come from outside the database, as an export's do.

The chain does not hash the erased flag (erasure happens after the fact), so a record
marked erased must really be erased, or a changed consent id could hide behind the flag.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from zgoda.store.audit import ERASED
from zgoda.store.chain import PARTS
from zgoda.store.verify import ChainReport, verify_parts

FALSELY_ERASED = "marked erased but still holds a consent id, browser or network"

ERASED_PART = PARTS.index("erased")
SEQUENCE_PART = PARTS.index("sequence")
PERSONAL_PARTS = tuple(
    PARTS.index(name) for name in ("consent_id", "user_agent_family", "ip_prefix")
)
TOMBSTONE = (ERASED, ERASED, None)


def verify_parts_and_erasures(
    rows: Iterable[tuple[Any, ...]],
    anchor_hash: str | None = None,
    anchor_sequence: int | None = None,
    spell_times: bool = False,
) -> ChainReport:
    """`verify_parts`, with a record marked erased but holding personal data as the break."""
    falsely_erased: list[int] = []

    def checked(rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        # verify_parts takes the next record only once every earlier one checked out, so
        # ending the stream here leaves it with the report of the records before this one.
        for row in rows:
            if row[ERASED_PART] and tuple(row[part] for part in PERSONAL_PARTS) != TOMBSTONE:
                falsely_erased.append(row[SEQUENCE_PART])
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

"""Proof and upkeep of the consent log: chain verification, erasure (Art. 17), retention."""

from __future__ import annotations

import json
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, func, select, update

from zgoda.store.chain import GENESIS, canonical_choices
from zgoda.store.event import ERASED, ConsentEvent
from zgoda.store.log import append_in, writing
from zgoda.store.parts import record_parts
from zgoda.store.tables import chain_checkpoints, chain_heads, consent_events, webhook_deliveries
from zgoda.store.verify import ChainReport, verify_parts

ERASED_BEFORE_DELIVERY = "the consent was erased before it was delivered"


@dataclass(frozen=True)
class Anchor:
    """Where a site's chain starts: the genesis, or the latest retention checkpoint."""

    sequence: int
    record_hash: str


def anchor(connection: Connection, site_id: str) -> Anchor:
    """The start of the site's remaining chain."""
    checkpoint = connection.execute(
        select(chain_checkpoints.c.sequence, chain_checkpoints.c.record_hash)
        .where(chain_checkpoints.c.site_id == site_id)
        .order_by(chain_checkpoints.c.sequence.desc())
        .limit(1)
    ).one_or_none()
    if checkpoint is None:
        return Anchor(0, GENESIS)
    return Anchor(int(checkpoint.sequence), str(checkpoint.record_hash))


def _canonical_choices_text(text: str) -> str:
    return canonical_choices(json.loads(text))


def verify_site(engine: Engine, site_id: str) -> ChainReport:
    """Check the site's whole live chain, from its anchor to its head."""
    with engine.connect() as connection:
        start = anchor(connection, site_id)
        parts = record_parts(connection, site_id, _canonical_choices_text)
        with closing(parts) as rows:
            report = verify_parts(rows, start.record_hash, start.sequence)
        head = connection.execute(
            select(chain_heads).where(chain_heads.c.site_id == site_id)
        ).one_or_none()
    # After a purge of every record the chain ends where it starts: at the checkpoint.
    last_hash = report.last_hash or start.record_hash
    if report.ok and head is not None and last_hash != head.record_hash:
        # Every remaining record links up, but the newest ones are gone.
        missing_from = (report.first_sequence or start.sequence + 1) + report.checked
        return ChainReport(
            report.checked,
            report.first_sequence,
            report.last_hash,
            broken_at=missing_from,
            problem=f"records {missing_from} to {head.sequence} are missing (deleted)",
        )
    return report


def erase_consent(engine: Engine, site_id: str, consent_id: str, erase_event: ConsentEvent) -> int:
    """Remove the personal parts of one consent history, log the erasure; returns rows erased.

    Each erased record keeps its personal hash as a tombstone, so the chain still verifies.
    """
    with writing(engine) as connection:
        erased = connection.execute(
            update(consent_events)
            .where(
                consent_events.c.site_id == site_id,
                consent_events.c.consent_id == consent_id,
                consent_events.c.erased_at.is_(None),
            )
            .values(
                consent_id=ERASED,
                user_agent_family=ERASED,
                ip_prefix=None,
                erased_at=erase_event.recorded_at,
            )
        ).rowcount
        if erased:
            forget_deliveries(connection, site_id, consent_id, erase_event.recorded_at)
            append_in(connection, erase_event)
    return int(erased)


def forget_deliveries(connection: Connection, site_id: str, consent_id: str, now: datetime) -> None:
    """The webhook outbox forgets an erased consent id too: what was not yet sent is not sent
    (marked failed, with the reason), and no row keeps the id or the body that named it."""
    rows = webhook_deliveries.c
    of_consent = (rows.site_id == site_id, rows.consent_id == consent_id)
    connection.execute(
        update(webhook_deliveries)
        .where(*of_consent, rows.delivered_at.is_(None), rows.failed_at.is_(None))
        .values(failed_at=now, last_error=ERASED_BEFORE_DELIVERY)
    )
    connection.execute(
        update(webhook_deliveries).where(*of_consent).values(consent_id=ERASED, payload="")
    )


def purge_before(engine: Engine, site_id: str, cutoff: datetime, now: datetime) -> int:
    """Delete the site's records older than `cutoff` and leave a checkpoint; returns how many.

    Only a prefix of the chain is deleted (up to the first record that is not old enough),
    so the rest still links to the checkpoint.
    """
    with writing(engine) as connection:
        first_kept = connection.execute(
            select(func.min(consent_events.c.sequence)).where(
                consent_events.c.site_id == site_id, consent_events.c.recorded_at >= cutoff
            )
        ).scalar_one()
        condition = [consent_events.c.site_id == site_id]
        if first_kept is not None:
            condition.append(consent_events.c.sequence < first_kept)
        last_purged = connection.execute(
            select(consent_events.c.sequence, consent_events.c.record_hash)
            .where(*condition)
            .order_by(consent_events.c.sequence.desc())
            .limit(1)
        ).one_or_none()
        if last_purged is None:
            return 0
        purged = connection.execute(delete(consent_events).where(*condition)).rowcount
        # The outbox rows of purged records go with them: they carry the same choices.
        outbox = [webhook_deliveries.c.site_id == site_id]
        if first_kept is not None:
            outbox.append(webhook_deliveries.c.sequence < first_kept)
        connection.execute(delete(webhook_deliveries).where(*outbox))
        connection.execute(
            chain_checkpoints.insert().values(
                site_id=site_id,
                sequence=last_purged.sequence,
                record_hash=last_purged.record_hash,
                purged_count=purged,
                purged_before=cutoff,
                created_at=now,
            )
        )
    return int(purged)

"""How long the outbox keeps a row once it is done: long enough to look into, no longer.

A delivered row's payload repeats what the consent log already proves (a consent id and its
choices), so it is kept only for troubleshooting; a failed one longer, so that a site's owner
sees it in `webhooks list` and /admin/<site> and can act. Pending rows are never pruned here:
they fail for good a day after their event (delivery.GIVE_UP_AFTER). Erasure blanks a consent
id's rows (store.audit.erase_consent); a retention purge of the log deletes its rows with it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, or_

from zgoda.store.log import writing
from zgoda.store.tables import webhook_deliveries

KEEP_DELIVERED = timedelta(days=7)
KEEP_FAILED = timedelta(days=30)
# How often the delivery worker prunes while it runs.
PRUNE_EVERY = timedelta(hours=1)


def prune_outbox(
    engine: Engine,
    now: datetime,
    keep_delivered: timedelta = KEEP_DELIVERED,
    keep_failed: timedelta = KEEP_FAILED,
) -> int:
    """Delete rows delivered more than `keep_delivered` or failed more than `keep_failed` ago."""
    rows = webhook_deliveries.c
    with writing(engine) as connection:
        result = connection.execute(
            delete(webhook_deliveries).where(
                or_(rows.delivered_at < now - keep_delivered, rows.failed_at < now - keep_failed)
            )
        )
    return int(result.rowcount)

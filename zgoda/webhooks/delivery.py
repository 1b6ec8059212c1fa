"""The delivery worker: sends due outbox rows, signed, and marks them delivered, retried or failed.

A round claims due rows in a short transaction (PostgreSQL: FOR UPDATE SKIP LOCKED, so
workers share the queue; SQLite: the write lock) by moving their next attempt a lease ahead,
then posts each outside any transaction, so a slow receiver never holds the consent log's
lock. A worker killed mid-round leaves its rows to come due again when the lease ends, and
they are sent again under the same webhook-id: at least once, deduplicated by the receiver.
A row is not due while an earlier row of its endpoint and consent id is neither delivered
nor failed, so a receiver gets a consent id's events in order. A failed attempt waits
FIRST_RETRY seconds, doubling up to MAX_DELAY, until GIVE_UP_AFTER from the event; then the
row is failed for good.
"""

from __future__ import annotations

import http.client
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import DBAPIError

from zgoda.errors import ConfigError
from zgoda.store.log import writing
from zgoda.store.tables import webhook_deliveries, webhook_endpoints
from zgoda.webhooks.payload import signed_headers
from zgoda.webhooks.retention import PRUNE_EVERY, prune_outbox
from zgoda.webhooks.secrets import decrypt_secret

FIRST_RETRY = 5.0  # seconds
MAX_DELAY = 3600.0
GIVE_UP_AFTER = timedelta(hours=24)
TIMEOUT = 10.0
BATCH = 50
USER_AGENT = "Zgoda-Webhooks/1"
# After a database error the worker waits this long, doubling up to the cap, and tries again.
DB_RETRY = 1.0
DB_RETRY_CAP = 60.0

log = logging.getLogger(__name__)

Post = Callable[[str, str, dict[str, str], float], str | None]


@dataclass(frozen=True)
class Policy:
    """How long to wait for a receiver, and how to retry."""

    first_retry: float = FIRST_RETRY
    max_delay: float = MAX_DELAY
    give_up_after: timedelta = GIVE_UP_AFTER
    timeout: float = TIMEOUT

    def delay(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt: doubling, capped."""
        return timedelta(seconds=min(self.first_retry * 2 ** max(attempts - 1, 0), self.max_delay))


@dataclass(frozen=True)
class Keys:
    """ZGODA_SECRET_KEY and its fallbacks, which decrypt the endpoints' secrets."""

    secret_key: str | None
    fallbacks: tuple[str, ...] = ()


@dataclass
class Round:
    """What one round did."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def claimed(self) -> int:
        """Rows taken in the round."""
        return self.delivered + self.retried + self.failed


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would resend the signed body elsewhere (or as a GET): it counts as a failure.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def post(url: str, body: str, headers: dict[str, str], timeout: float) -> str | None:
    """POST `body` to `url`; None on a 2xx answer, else what went wrong (no URL, no secret)."""
    request = urllib.request.Request(
        url, data=body.encode("utf-8"), headers=headers | {"User-Agent": USER_AGENT}, method="POST"
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except urllib.error.URLError as error:
        return f"not reached: {error.reason}"[:500]
    except (OSError, http.client.HTTPException) as error:
        return f"{type(error).__name__}: {error}"[:500]
    return None if 200 <= status < 300 else f"HTTP {status}"


def as_utc(value: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite gives them back naive)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def claim(engine: Engine, now: datetime, lease: timedelta, limit: int = BATCH) -> list[Any]:
    """Take up to `limit` due rows, oldest first, by moving their next attempt `lease` ahead;
    each row with its endpoint's URL, encrypted secret and removal time."""
    d = webhook_deliveries
    earlier = d.alias("earlier")
    blocked = (
        select(earlier.c.id)
        .where(
            earlier.c.endpoint_id == d.c.endpoint_id,
            earlier.c.consent_id == d.c.consent_id,
            earlier.c.id < d.c.id,
            earlier.c.delivered_at.is_(None),
            earlier.c.failed_at.is_(None),
        )
        .exists()
    )
    due = (
        select(d.c.id, d.c.endpoint_id, d.c.message_id, d.c.payload, d.c.attempts, d.c.created_at)
        .where(
            d.c.delivered_at.is_(None),
            d.c.failed_at.is_(None),
            d.c.next_attempt_at <= now,
            ~blocked,
        )
        .order_by(d.c.id)
        .limit(limit)
    )
    if engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=d)
    e = webhook_endpoints.c
    with writing(engine) as connection:
        rows = connection.execute(due).all()
        if not rows:
            return []
        connection.execute(
            update(d)
            .where(d.c.id.in_([row.id for row in rows]))
            .values(next_attempt_at=now + lease, attempts=d.c.attempts + 1)
        )
        endpoints = {
            row.id: row
            for row in connection.execute(
                select(e.id, e.url, e.secret_encrypted, e.disabled_at).where(
                    e.id.in_({row.endpoint_id for row in rows})
                )
            )
        }
    return [(row, endpoints[row.endpoint_id]) for row in rows]


def deliver_due(
    engine: Engine,
    keys: Keys,
    policy: Policy = Policy(),
    *,
    send: Post = post,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Round:
    """One round: claim the due rows, send each, and record what became of it."""
    outcome = Round()
    lease = timedelta(seconds=2 * policy.timeout + 5)
    for row, endpoint in claim(engine, clock(), lease):
        if endpoint.disabled_at is not None:
            error: str | None = "the endpoint was removed"
            give_up = True
        else:
            try:
                secret = decrypt_secret(endpoint.secret_encrypted, keys.secret_key, keys.fallbacks)
                headers = signed_headers(row.message_id, row.payload, secret, clock())
                error = send(endpoint.url, row.payload, headers, policy.timeout)
            except ConfigError as problem:
                error = str(problem)[:500]
            give_up = False
        attempts = row.attempts + 1
        now = clock()
        retry_at = now + policy.delay(attempts)
        give_up = give_up or retry_at > as_utc(row.created_at) + policy.give_up_after
        _record(engine, row.id, now, error, None if give_up else retry_at)
        if error is None:
            outcome.delivered += 1
        elif give_up:
            outcome.failed += 1
        else:
            outcome.retried += 1
    return outcome


def _record(
    engine: Engine, row_id: int, now: datetime, error: str | None, retry_at: datetime | None
) -> None:
    d = webhook_deliveries.c
    if error is None:
        values: dict[str, Any] = {"delivered_at": now}
    elif retry_at is None:
        values = {"failed_at": now, "last_error": error}
    else:
        values = {"next_attempt_at": retry_at, "last_error": error}
    with writing(engine) as connection:
        connection.execute(
            update(webhook_deliveries)
            .where(d.id == row_id, d.delivered_at.is_(None), d.failed_at.is_(None))
            .values(**values)
        )


def run(
    engine: Engine,
    keys: Keys,
    policy: Policy = Policy(),
    *,
    once: bool = False,
    poll: float = 1.0,
    report: Callable[[Round], None] = lambda _round: None,
) -> Round:
    """Deliver until stopped (or, `once`, until nothing is due); returns the totals.

    Done rows are pruned on start and every PRUNE_EVERY (retention). Running, the worker
    outlives a database that is briefly away (a restart, a failover): it logs the error and
    tries again after a growing pause. `once` lets the error out, for cron to report.
    """
    total = Round()
    pruned_at: datetime | None = None
    pause = DB_RETRY
    while True:
        try:
            now = datetime.now(UTC)
            if pruned_at is None or now - pruned_at >= PRUNE_EVERY:
                prune_outbox(engine, now)
                pruned_at = now
            done = deliver_due(engine, keys, policy)
        except DBAPIError as error:
            if once:
                raise
            log.warning("webhook delivery: database error, retrying in %.0f s: %s", pause, error)
            time.sleep(pause)
            pause = min(2 * pause, DB_RETRY_CAP)
            continue
        pause = DB_RETRY
        total.delivered += done.delivered
        total.retried += done.retried
        total.failed += done.failed
        if done.claimed:
            report(done)
            continue
        if once:
            return total
        time.sleep(poll)

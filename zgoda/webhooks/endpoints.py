"""A site's webhook endpoints: registered, listed with their deliveries' state, removed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import Engine, and_, case, func, select, true, update

from zgoda.errors import ZgodaError
from zgoda.store.tables import webhook_deliveries, webhook_endpoints
from zgoda.webhooks.outbox import forget_endpoints
from zgoda.webhooks.secrets import encrypt_secret, new_secret


class BadEndpointUrl(ZgodaError):
    """The URL given for an endpoint cannot be sent to."""


@dataclass(frozen=True)
class Endpoint:
    """A registered endpoint and how its deliveries stand."""

    id: str
    site_id: str
    url: str
    created_at: datetime
    disabled_at: datetime | None
    pending: int
    delivered: int
    failed: int
    last_error: str | None


def check_url(url: str) -> str:
    """`url` if it is an absolute http(s) URL with a host; BadEndpointUrl naming the fault."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BadEndpointUrl(f"URL {url!r} must start with http:// or https://")
    if not parts.hostname:
        raise BadEndpointUrl(f"URL {url!r} has no host")
    if len(url) > webhook_endpoints.c.url.type.length:  # type: ignore[attr-defined]
        raise BadEndpointUrl("URL is longer than 2048 characters")
    return url


def add_endpoint(
    engine: Engine, site_id: str, url: str, secret_key: str, fallbacks: list[str]
) -> tuple[str, str]:
    """Register `url` for `site_id`; returns its id and its signing secret (shown only now)."""
    endpoint_id, secret = secrets.token_hex(6), new_secret()
    with engine.begin() as connection:
        connection.execute(
            webhook_endpoints.insert().values(
                id=endpoint_id,
                site_id=site_id,
                url=check_url(url),
                secret_encrypted=encrypt_secret(secret, secret_key, fallbacks),
                created_at=datetime.now(UTC),
            )
        )
    forget_endpoints()
    return endpoint_id, secret


def remove_endpoint(engine: Engine, endpoint_id: str) -> bool:
    """Disable an endpoint and fail its undelivered rows; False if no such active endpoint."""
    now = datetime.now(UTC)
    d = webhook_deliveries.c
    with engine.begin() as connection:
        removed = connection.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.disabled_at.is_(None))
            .values(disabled_at=now)
        ).rowcount
        if removed:
            connection.execute(
                update(webhook_deliveries)
                .where(
                    d.endpoint_id == endpoint_id, d.delivered_at.is_(None), d.failed_at.is_(None)
                )
                .values(failed_at=now, last_error="the endpoint was removed")
            )
    forget_endpoints()
    return bool(removed)


def list_endpoints(engine: Engine, site_id: str | None = None) -> list[Endpoint]:
    """The endpoints (of one site, or all), oldest first, with counts of their deliveries."""
    d, e = webhook_deliveries.c, webhook_endpoints.c
    pending = and_(d.delivered_at.is_(None), d.failed_at.is_(None))
    counts = (
        select(
            d.endpoint_id,
            func.count(case((pending, 1))).label("pending"),
            func.count(d.delivered_at).label("delivered"),
            func.count(d.failed_at).label("failed"),
        )
        .where(true() if site_id is None else d.site_id == site_id)
        .group_by(d.endpoint_id)
        .subquery()
    )
    newest_error = (
        select(d.last_error)
        .where(d.endpoint_id == e.id, d.last_error.is_not(None))
        .order_by(d.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(webhook_endpoints, counts.c.pending, counts.c.delivered, counts.c.failed)
        .add_columns(newest_error.label("last_error"))
        .outerjoin(counts, counts.c.endpoint_id == e.id)
        .order_by(e.created_at, e.id)
    )
    if site_id is not None:
        query = query.where(e.site_id == site_id)
    with engine.connect() as connection:
        return [
            Endpoint(
                row.id,
                row.site_id,
                row.url,
                row.created_at,
                row.disabled_at,
                row.pending or 0,
                row.delivered or 0,
                row.failed or 0,
                row.last_error,
            )
            for row in connection.execute(query)
        ]


@dataclass(frozen=True)
class FailedDelivery:
    """A delivery given up on: which event, to where, and why."""

    endpoint_url: str
    consent_id: str
    sequence: int
    attempts: int
    failed_at: datetime
    last_error: str | None


def failed_deliveries(engine: Engine, site_id: str, limit: int = 20) -> list[FailedDelivery]:
    """The site's most recently failed deliveries, newest first."""
    d, e = webhook_deliveries.c, webhook_endpoints.c
    query = (
        select(e.url, d.consent_id, d.sequence, d.attempts, d.failed_at, d.last_error)
        .join(webhook_endpoints, e.id == d.endpoint_id)
        .where(d.site_id == site_id, d.failed_at.is_not(None))
        .order_by(d.failed_at.desc(), d.id.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        return [FailedDelivery(*row) for row in connection.execute(query)]

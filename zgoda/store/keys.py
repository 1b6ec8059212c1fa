"""Per-site API keys: shown once when created, stored only as a hash, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update

from zgoda.errors import Forbidden, Unauthorized
from zgoda.store.tables import api_keys

KEY_PREFIX = "zk"


@dataclass(frozen=True)
class ApiKey:
    """A stored key, without its secret."""

    key_id: str
    site_id: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


def _secret_hash(secret: str) -> str:
    # The secret has 256 random bits, so one fast hash is enough: nothing to brute-force.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(engine: Engine, site_id: str, label: str = "") -> str:
    """Store a new key for `site_id` and return it in full; it cannot be shown again."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with engine.begin() as connection:
        connection.execute(
            api_keys.insert().values(
                key_id=key_id,
                site_id=site_id,
                secret_hash=_secret_hash(secret),
                label=label,
                created_at=datetime.now(UTC),
            )
        )
    return f"{KEY_PREFIX}_{key_id}_{secret}"


def list_keys(engine: Engine, site_id: str | None = None) -> list[ApiKey]:
    """Stored keys, oldest first (for one site, or all)."""
    query = select(api_keys).order_by(api_keys.c.created_at)
    if site_id is not None:
        query = query.where(api_keys.c.site_id == site_id)
    with engine.connect() as connection:
        return [
            ApiKey(row.key_id, row.site_id, row.label, row.created_at, row.revoked_at)
            for row in connection.execute(query)
        ]


def revoke_key(engine: Engine, key_id: str) -> bool:
    """Revoke a key; False when no such active key exists."""
    with engine.begin() as connection:
        result = connection.execute(
            update(api_keys)
            .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
    return bool(result.rowcount)


def authenticate(engine: Engine, site_id: str, presented: str | None) -> ApiKey:
    """The key if it is valid for `site_id`; Unauthorized (401), or Forbidden (403) for another site's."""
    parts = (presented or "").split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        raise Unauthorized("an API key is required: Authorization: Bearer zk_...")
    _, key_id, secret = parts
    with engine.connect() as connection:
        row = connection.execute(select(api_keys).where(api_keys.c.key_id == key_id)).one_or_none()
    # Compare even when the key id is unknown, so timing does not tell ids apart.
    stored = row.secret_hash if row is not None else _secret_hash("")
    if not hmac.compare_digest(stored, _secret_hash(secret)) or row is None:
        raise Unauthorized("the API key is not valid")
    if row.revoked_at is not None:
        raise Unauthorized("the API key has been revoked")
    if row.site_id != site_id:
        raise Forbidden("the API key belongs to another site")
    return ApiKey(row.key_id, row.site_id, row.label, row.created_at, row.revoked_at)


def is_active(engine: Engine, key_id: str, site_id: str) -> bool:
    """Whether `key_id` is a key of `site_id` that has not been revoked (for signed-in sessions)."""
    query = select(api_keys.c.key_id).where(
        api_keys.c.key_id == key_id,
        api_keys.c.site_id == site_id,
        api_keys.c.revoked_at.is_(None),
    )
    with engine.connect() as connection:
        return connection.execute(query).one_or_none() is not None

"""Per-site API keys (shown once when created, stored only as a hash, compared in constant
time) and the dashboard sessions signed in with them."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from sqlalchemy import Engine, delete, or_, select, update

from zgoda.errors import Forbidden, Unauthorized
from zgoda.store.tables import admin_sessions, api_keys

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
    """The key if it is valid for `site_id`; Unauthorized, or Forbidden for another site's."""
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


# --- dashboard sessions ----------------------------------------------------------------------
# The cookie carries a random token; the table keeps its hash, the key and two times. A
# session ends when it is signed out (its row is deleted), when its key is revoked, when it
# is older than its lifetime or idle for longer than the idle timeout. Both limits are
# applied when the session is used, so a changed setting applies to live sessions too.

# last_seen_at is written at most this often: a page view is not a write each time.
SEEN_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class SessionLimits:
    """How long a dashboard session lasts: from sign-in, and without being used."""

    lifetime: timedelta
    idle_timeout: timedelta


class SessionEnded(Enum):
    """Why a dashboard session token no longer signs in."""

    UNKNOWN = "unknown"  # never issued, signed out, or for another site
    EXPIRED = "expired"  # past its lifetime or idle timeout
    REVOKED = "revoked"  # its key was revoked


def _token_hash(token: str) -> str:
    # 256 random bits: one fast hash suffices, and a leaked table holds no usable token.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _utc(moment: datetime) -> datetime:
    # SQLite hands back the UTC times it stored without their zone.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def start_session(
    engine: Engine, key: ApiKey, limits: SessionLimits, now: datetime | None = None
) -> str:
    """A new session token for `key`'s site; ended sessions of any site are deleted meanwhile."""
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    with engine.begin() as connection:
        connection.execute(
            delete(admin_sessions).where(
                or_(
                    admin_sessions.c.created_at <= now - limits.lifetime,
                    admin_sessions.c.last_seen_at <= now - limits.idle_timeout,
                )
            )
        )
        connection.execute(
            admin_sessions.insert().values(
                token_hash=_token_hash(token),
                key_id=key.key_id,
                site_id=key.site_id,
                created_at=now,
                last_seen_at=now,
            )
        )
    return token


def resume_session(
    engine: Engine, token: str, site_id: str, limits: SessionLimits, now: datetime | None = None
) -> str | SessionEnded:
    """The key id a live session of `site_id` signed in with, or why it ended.

    An ended session is deleted, so it is reported (expired, revoked) once; afterwards it
    is UNKNOWN.
    """
    now = now or datetime.now(UTC)
    token_hash = _token_hash(token)
    query = (
        select(admin_sessions, api_keys.c.revoked_at)
        .join(api_keys, api_keys.c.key_id == admin_sessions.c.key_id)
        .where(admin_sessions.c.token_hash == token_hash, admin_sessions.c.site_id == site_id)
    )
    with engine.connect() as connection:
        row = connection.execute(query).one_or_none()
    if row is None:
        return SessionEnded.UNKNOWN
    last_seen = _utc(row.last_seen_at)
    ended: SessionEnded | None = None
    if row.revoked_at is not None:
        ended = SessionEnded.REVOKED
    elif now >= _utc(row.created_at) + limits.lifetime or now >= last_seen + limits.idle_timeout:
        ended = SessionEnded.EXPIRED
    if ended is not None:
        end_session(engine, token)
        return ended
    if now - last_seen >= SEEN_PRECISION:
        with engine.begin() as connection:
            connection.execute(
                update(admin_sessions)
                .where(admin_sessions.c.token_hash == token_hash)
                .values(last_seen_at=now)
            )
    key_id: str = row.key_id
    return key_id


def end_session(engine: Engine, token: str) -> None:
    """Sign a session out: its token, and every copy of it, stops signing in."""
    with engine.begin() as connection:
        connection.execute(
            delete(admin_sessions).where(admin_sessions.c.token_hash == _token_hash(token))
        )

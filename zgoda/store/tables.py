"""The consent log's tables (one row per event, appended, never updated), API keys and sessions."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData()

# BIGINT on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
EventId = BigInteger().with_variant(Integer(), "sqlite")

consent_events = Table(
    "consent_events",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("site_id", String(64), nullable=False),
    Column("consent_id", String(36), nullable=False),
    Column("notice_version", String(16), nullable=False),
    Column("content_hash", String(16), nullable=False),
    Column("locale", String(5), nullable=False),
    Column("action", String(16), nullable=False),
    Column("choices", JSON, nullable=False),
    Column("source", String(16), nullable=False),
    Column("gpc", Boolean, nullable=False),
    Column("user_agent_family", String(32), nullable=False),
    Column("ip_prefix", String(64), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    # Tamper evidence (zgoda.store.chain): a hash chain per site, in `sequence` order.
    Column("sequence", BigInteger, nullable=False),
    Column("personal_hash", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("record_hash", String(64), nullable=False),
    Column("erased_at", DateTime(timezone=True), nullable=True),
    # When the visitor chose (the browser's clock, bounded by the server); None before 0004.
    Column("chosen_at", DateTime(timezone=True), nullable=True),
    Index("ix_consent_events_site_recorded", "site_id", "recorded_at"),
    Index("ix_consent_events_site_consent", "site_id", "consent_id"),
    Index("ux_consent_events_site_sequence", "site_id", "sequence", unique=True),
)

# The newest link of each site's chain; its row is locked while an event is appended.
chain_heads = Table(
    "chain_heads",
    metadata,
    Column("site_id", String(64), primary_key=True),
    Column("sequence", BigInteger, nullable=False),
    Column("record_hash", String(64), nullable=False),
)

# Where a site's chain now starts, after old events were purged (retention).
chain_checkpoints = Table(
    "chain_checkpoints",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("site_id", String(64), nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("record_hash", String(64), nullable=False),
    Column("purged_count", BigInteger, nullable=False),
    Column("purged_before", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_chain_checkpoints_site", "site_id", "sequence"),
)

# Per-site API keys for exports and the dashboard; only a hash of the secret is kept.
api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(16), primary_key=True),
    Column("site_id", String(64), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("label", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

# Dashboard sessions signed in with an API key: the cookie holds a random token, this table
# only its hash. Signing out deletes the row, so no copy of the cookie signs in again.
admin_sessions = Table(
    "admin_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("key_id", String(16), ForeignKey("api_keys.key_id"), nullable=False),
    Column("site_id", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Index("ix_admin_sessions_created", "created_at"),
)

# Cookie scans of a site (zgoda.scan): what was observed and found, one row per scan.
scans = Table(
    "scans",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("site_id", String(64), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("notice_version", String(16), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("errors", Integer, nullable=False),
    Column("warnings", Integer, nullable=False),
    Column("infos", Integer, nullable=False),
    Column("result", JSON, nullable=False),  # the run's observations and the findings
    Index("ix_scans_site_started", "site_id", "started_at"),
)

# Webhook endpoints of a site (zgoda.webhooks): the signing secret kept encrypted, since
# signing needs it back (a hash could not sign); removing one sets disabled_at.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("site_id", String(64), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("secret_encrypted", String(512), nullable=False),  # Fernet token (webhooks.secrets)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True), nullable=True),
    Index("ix_webhook_endpoints_site", "site_id"),
)

PENDING = "delivered_at IS NULL AND failed_at IS NULL"

# The outbox: one row per endpoint per consent event, written in the event's transaction.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("endpoint_id", String(16), ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("site_id", String(64), nullable=False),
    Column("sequence", BigInteger, nullable=False),  # the event's place in its site's chain
    Column("consent_id", String(36), nullable=False),
    Column("message_id", String(64), nullable=False),  # webhook-id: the same on every retry
    Column("payload", Text, nullable=False),  # the exact body signed and sent
    Column("attempts", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("failed_at", DateTime(timezone=True), nullable=True),
    Column("last_error", String(500), nullable=True),
    # Per consent id in order: the worker looks for an earlier undelivered row of the same
    # endpoint and consent id before it sends a later one.
    Index("ix_webhook_deliveries_order", "endpoint_id", "consent_id", "id"),
    # Only the rows still to send: delivered and failed ones pile up, and are never due.
    Index(
        "ix_webhook_deliveries_due",
        "next_attempt_at",
        sqlite_where=text(PENDING),
        postgresql_where=text(PENDING),
    ),
)

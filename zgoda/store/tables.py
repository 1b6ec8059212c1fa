"""The consent log's table: one row per event, appended, never updated."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
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
    Index("ix_consent_events_site_recorded", "site_id", "recorded_at"),
    Index("ix_consent_events_site_consent", "site_id", "consent_id"),
)

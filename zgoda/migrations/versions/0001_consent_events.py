"""The consent log: an append-only table of consent events.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("consent_id", sa.String(36), nullable=False),
        sa.Column("notice_version", sa.String(16), nullable=False),
        sa.Column("content_hash", sa.String(16), nullable=False),
        sa.Column("locale", sa.String(5), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("gpc", sa.Boolean(), nullable=False),
        sa.Column("user_agent_family", sa.String(32), nullable=False),
        sa.Column("ip_prefix", sa.String(64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_consent_events_site_recorded", "consent_events", ["site_id", "recorded_at"])
    op.create_index("ix_consent_events_site_consent", "consent_events", ["site_id", "consent_id"])


def downgrade() -> None:
    op.drop_table("consent_events")

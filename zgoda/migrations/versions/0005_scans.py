"""Cookie scans: what a site stored and sent before and after each choice, per scan.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

One row per `flask scan` run, with its counts for the dashboard's history and the whole
result (observations and findings) as JSON; nothing in it names a visitor.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

EventId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "scans",
        sa.Column("id", EventId, primary_key=True, autoincrement=True),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("notice_version", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("warnings", sa.Integer(), nullable=False),
        sa.Column("infos", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
    )
    op.create_index("ix_scans_site_started", "scans", ["site_id", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_scans_site_started", "scans")
    op.drop_table("scans")

"""Dashboard sessions kept on the server, so signing out ends every copy of the cookie.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Sessions signed in before this revision kept a key id in the cookie; they are not carried
over, so their owners sign in once more.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(16), sa.ForeignKey("api_keys.key_id"), nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_admin_sessions_created", "admin_sessions", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_admin_sessions_created", "admin_sessions")
    op.drop_table("admin_sessions")

"""When a visitor made a choice, beside when the log received it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

The embed records a choice in the background and retries it, across page loads, until the
server answers; `chosen_at` keeps the time of the click (as the browser reported it, bounded
by the server) while `recorded_at` stays the server's time of receipt. Records written before
this revision have no `chosen_at`, and their hashes cover exactly what they covered before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consent_events") as batch:
        batch.add_column(sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent_events") as batch:
        batch.drop_column("chosen_at")

"""Tamper evidence and access: a hash chain over consent events, checkpoints, API keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Events recorded before this revision are chained in id order, per site, so the whole
log verifies afterwards.
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

EventId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("consent_events") as batch:
        batch.add_column(sa.Column("sequence", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("personal_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("record_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "chain_heads",
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("record_hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "chain_checkpoints",
        sa.Column("id", EventId, primary_key=True),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("record_hash", sa.String(64), nullable=False),
        sa.Column("purged_count", sa.BigInteger(), nullable=False),
        sa.Column("purged_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_chain_checkpoints_site", "chain_checkpoints", ["site_id", "sequence"])
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(16), primary_key=True),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    _chain_existing_events()
    with op.batch_alter_table("consent_events") as batch:
        for column in ("sequence", "personal_hash", "prev_hash", "record_hash"):
            batch.alter_column(column, nullable=False)
    op.create_index(
        "ux_consent_events_site_sequence", "consent_events", ["site_id", "sequence"], unique=True
    )


def _chain_existing_events() -> None:
    from zgoda.store.chain import GENESIS, link_hash, personal_hash

    bind = op.get_bind()
    events = sa.table(
        "consent_events",
        *(sa.column(name) for name in (
            "id", "site_id", "consent_id", "notice_version", "content_hash", "locale", "action",
            "choices", "source", "gpc", "user_agent_family", "ip_prefix", "recorded_at",
            "expires_at", "sequence", "personal_hash", "prev_hash", "record_hash",
        )),
    )  # fmt: skip
    heads: dict[str, tuple[int, str]] = {}
    rows = bind.execute(sa.select(events).order_by(events.c.id)).mappings().all()
    for row in rows:
        sequence, prev = heads.get(row["site_id"], (0, GENESIS))
        record = dict(row) | {"sequence": sequence + 1}
        if isinstance(record["choices"], str):
            record["choices"] = json.loads(record["choices"])
        personal = personal_hash(record)
        digest = link_hash(prev, record | {"personal_hash": personal})
        bind.execute(
            events.update()
            .where(events.c.id == row["id"])
            .values(
                sequence=sequence + 1, personal_hash=personal, prev_hash=prev, record_hash=digest
            )
        )
        heads[row["site_id"]] = (sequence + 1, digest)
    heads_table = sa.table(
        "chain_heads", sa.column("site_id"), sa.column("sequence"), sa.column("record_hash")
    )
    for site_id, (sequence, digest) in heads.items():
        bind.execute(
            heads_table.insert().values(site_id=site_id, sequence=sequence, record_hash=digest)
        )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_index("ix_chain_checkpoints_site", "chain_checkpoints")
    op.drop_table("chain_checkpoints")
    op.drop_table("chain_heads")
    op.drop_index("ux_consent_events_site_sequence", "consent_events")
    with op.batch_alter_table("consent_events") as batch:
        for column in ("erased_at", "record_hash", "prev_hash", "personal_hash", "sequence"):
            batch.drop_column(column)

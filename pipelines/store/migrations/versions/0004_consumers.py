"""queue consumers, pull deliveries and webhook deliveries

`consumers` holds one row per system that consumes the queue: a bearer-token hash (never the
token), and optionally a webhook URL with its signing secret. `queue_deliveries` records every
claim of a queue item, so a late ack of an expired lease is answered 409 rather than 404.
`webhook_deliveries` is the per-consumer push state (attempts, next attempt, dead letters).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "consumers",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("webhook_secret", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consumers")),
        sa.UniqueConstraint("name", name=op.f("uq_consumers_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_consumers_token_hash")),
    )
    op.create_table(
        "queue_deliveries",
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("queue_item_pk", ID, nullable=False),
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["queue_item_pk"], ["queue_items.id"],
                                name=op.f("fk_queue_deliveries_queue_item_pk_queue_items"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_queue_deliveries")),
    )
    op.create_index("ix_queue_deliveries_item", "queue_deliveries", ["queue_item_pk"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("consumer_id", ID, nullable=False),
        sa.Column("queue_item_pk", ID, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["consumer_id"], ["consumers.id"],
                                name=op.f("fk_webhook_deliveries_consumer_id_consumers"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["queue_item_pk"], ["queue_items.id"],
                                name=op.f("fk_webhook_deliveries_queue_item_pk_queue_items"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_webhook_deliveries_delivery_id")),
        sa.UniqueConstraint("consumer_id", "queue_item_pk",
                            name=op.f("uq_webhook_deliveries_consumer_id")),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_queue_deliveries_item", table_name="queue_deliveries")
    op.drop_table("queue_deliveries")
    op.drop_table("consumers")

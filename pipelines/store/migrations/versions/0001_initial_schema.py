"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 22:49:52.103713
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "cases",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size", sa.Integer(), server_default="1", nullable=False),
        sa.Column("engagement", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("tier", sa.String(length=4), nullable=True),
        sa.Column(
            "lead_post_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("signature", name=op.f("uq_cases_signature")),
    )
    op.create_table(
        "checkpoints",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "key", name=op.f("pk_checkpoints")),
    )
    op.create_table(
        "collector_runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("pages", sa.Integer(), server_default="0", nullable=False),
        sa.Column("posts_fetched", sa.Integer(), server_default="0", nullable=False),
        sa.Column("posts_new", sa.Integer(), server_default="0", nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("rate_limited_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collector_runs")),
    )
    with op.batch_alter_table("collector_runs", schema=None) as batch_op:
        batch_op.create_index("ix_collector_runs_source", ["source", "started_at"], unique=False)

    op.create_table(
        "raw_pages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("collector", sa.String(length=32), nullable=False),
        sa.Column("collector_version", sa.String(length=32), nullable=False),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raw_pages")),
        sa.UniqueConstraint("sha256", name=op.f("uq_raw_pages_sha256")),
    )
    op.create_table(
        "users",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled", sa.Boolean(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "posts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("post_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("author_id", sa.String(length=64), nullable=True),
        sa.Column("author_handle", sa.String(length=64), nullable=True),
        sa.Column("author_pseudonym", sa.String(length=32), nullable=False),
        sa.Column("author_followers", sa.BigInteger(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("redacted_text", sa.Text(), nullable=False),
        sa.Column("redaction_counts", sa.JSON(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reply_to_id", sa.String(length=64), nullable=True),
        sa.Column("quote_of_id", sa.String(length=64), nullable=True),
        sa.Column("conversation_id", sa.String(length=64), nullable=True),
        sa.Column(
            "raw_page_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("collector", sa.String(length=32), nullable=False),
        sa.Column("collector_version", sa.String(length=32), nullable=False),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raw_sha256", sa.String(length=64), nullable=False),
        sa.Column("inserted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("triage_state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("triage_lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("triage_lease_owner", sa.String(length=96), nullable=True),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("text_purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_posts_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["raw_page_id"], ["raw_pages.id"], name=op.f("fk_posts_raw_page_id_raw_pages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
        sa.UniqueConstraint("platform", "post_id", name=op.f("uq_posts_platform")),
    )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index("ix_posts_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_posts_triage_state", ["triage_state", "id"], unique=False)

    op.create_table(
        "metric_snapshots",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("post_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reposts", sa.BigInteger(), nullable=True),
        sa.Column("quotes", sa.BigInteger(), nullable=True),
        sa.Column("replies", sa.BigInteger(), nullable=True),
        sa.Column("likes", sa.BigInteger(), nullable=True),
        sa.Column("views", sa.BigInteger(), nullable=True),
        sa.Column("score", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["post_pk"],
            ["posts.id"],
            name=op.f("fk_metric_snapshots_post_pk_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_snapshots")),
        sa.UniqueConstraint("post_pk", "at", name=op.f("uq_metric_snapshots_post_pk")),
    )
    op.create_table(
        "queue_items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("idempotency_key", sa.String(length=96), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("post_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tier", sa.String(length=4), nullable=False),
        sa.Column("priority_score", sa.Float(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivery_id", sa.String(length=36), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consumer", sa.String(length=64), nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_queue_items_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["post_pk"], ["posts.id"], name=op.f("fk_queue_items_post_pk_posts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_items")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_queue_items_delivery_id")),
        sa.UniqueConstraint(
            "idempotency_key", "revision", name=op.f("uq_queue_items_idempotency_key")
        ),
        sa.UniqueConstraint("item_id", name=op.f("uq_queue_items_item_id")),
    )
    with op.batch_alter_table("queue_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_queue_items_ready", ["status", "available_at", "priority_score"], unique=False
        )

    op.create_table(
        "reviews",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("post_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["post_pk"], ["posts.id"], name=op.f("fk_reviews_post_pk_posts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_reviews_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index("ix_reviews_post", ["post_pk"], unique=False)

    op.create_table(
        "triage_results",
        sa.Column("post_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("triaged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("kind_score", sa.Float(), nullable=False),
        sa.Column("substance", sa.String(length=64), nullable=False),
        sa.Column("substance_score", sa.Float(), nullable=False),
        sa.Column("maladministration", sa.String(length=64), nullable=False),
        sa.Column("maladministration_score", sa.Float(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=True),
        sa.Column("region", sa.String(length=16), nullable=True),
        sa.Column("virality_score", sa.Float(), nullable=False),
        sa.Column("engagement_per_hour", sa.Float(), nullable=False),
        sa.Column("virality", sa.JSON(), nullable=False),
        sa.Column("priority_score", sa.Float(), nullable=False),
        sa.Column("tier", sa.String(length=4), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("qualified", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_pk"],
            ["posts.id"],
            name=op.f("fk_triage_results_post_pk_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("post_pk", name=op.f("pk_triage_results")),
    )
    with op.batch_alter_table("triage_results", schema=None) as batch_op:
        batch_op.create_index("ix_triage_results_priority", ["priority_score"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("triage_results", schema=None) as batch_op:
        batch_op.drop_index("ix_triage_results_priority")

    op.drop_table("triage_results")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_reviews_post")

    op.drop_table("reviews")
    with op.batch_alter_table("queue_items", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_items_ready")

    op.drop_table("queue_items")
    op.drop_table("metric_snapshots")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index("ix_posts_triage_state")
        batch_op.drop_index("ix_posts_created_at")

    op.drop_table("posts")
    op.drop_table("users")
    op.drop_table("raw_pages")
    with op.batch_alter_table("collector_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_collector_runs_source")

    op.drop_table("collector_runs")
    op.drop_table("checkpoints")
    op.drop_table("cases")
    op.drop_table("audit_log")

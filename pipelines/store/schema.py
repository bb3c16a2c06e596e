"""The database schema (SQLAlchemy Core). Migrations under `migrations/` create and evolve it.

Raw pages are append-only; every derived table (posts, snapshots, triage results, cases, queue
items) can be rebuilt from them. Times are stored as timezone-aware UTC.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

# Stable constraint names keep migrations identical on SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

class UtcTime(TypeDecorator):
    """Aware UTC datetimes in and out, on SQLite (which keeps no zone) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # noqa: ANN001, ANN201
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass aware UTC times")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):  # noqa: ANN001, ANN201
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


Time = UtcTime()
Id = BigInteger().with_variant(Integer, "sqlite")  # SQLite only autoincrements INTEGER keys

raw_pages = Table(
    "raw_pages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("collector", String(32), nullable=False),
    Column("collector_version", String(32), nullable=False),
    Column("query", Text),
    Column("endpoint", Text, nullable=False),
    Column("fetched_at", Time, nullable=False),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("body", Text),  # as received; NULL once purged by retention
    Column("purged_at", Time),
)

posts = Table(
    "posts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("platform", String(16), nullable=False),
    Column("post_id", String(64), nullable=False),
    Column("url", Text),
    Column("author_id", String(64)),
    Column("author_handle", String(64)),
    Column("author_pseudonym", String(32), nullable=False),
    Column("author_followers", BigInteger),
    Column("text", Text),  # raw text; NULL once purged by retention
    Column("redacted_text", Text, nullable=False),
    Column("redaction_counts", JSON, nullable=False),
    Column("lang", String(8)),
    Column("created_at", Time, nullable=False),
    Column("reply_to_id", String(64)),
    Column("quote_of_id", String(64)),
    Column("conversation_id", String(64)),
    # provenance of the first page that brought the post
    Column("raw_page_id", Id, ForeignKey("raw_pages.id"), nullable=False),
    Column("collector", String(32), nullable=False),
    Column("collector_version", String(32), nullable=False),
    Column("query", Text),
    Column("endpoint", Text, nullable=False),
    Column("fetched_at", Time, nullable=False),
    Column("raw_sha256", String(64), nullable=False),
    Column("inserted_at", Time, nullable=False),
    # triage work state: pending -> done; workers lease pending posts
    Column("triage_state", String(16), nullable=False, server_default="pending"),
    Column("triage_lease_until", Time),
    Column("triage_lease_owner", String(96)),  # "host:pid" of the worker holding the lease
    Column("case_id", Id, ForeignKey("cases.id")),
    Column("text_purged_at", Time),
    UniqueConstraint("platform", "post_id"),
    Index("ix_posts_triage_state", "triage_state", "id"),
    Index("ix_posts_created_at", "created_at"),
)

metric_snapshots = Table(
    "metric_snapshots",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("post_pk", Id, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
    Column("at", Time, nullable=False),
    Column("reposts", BigInteger),
    Column("quotes", BigInteger),
    Column("replies", BigInteger),
    Column("likes", BigInteger),
    Column("views", BigInteger),
    Column("score", BigInteger),
    UniqueConstraint("post_pk", "at"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("key", String(255), primary_key=True),  # the query (or file path) it belongs to
    Column("value", Text, nullable=False),  # since_id, last line number, ...
    Column("updated_at", Time, nullable=False),
)

collector_runs = Table(
    "collector_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("started_at", Time, nullable=False),
    Column("finished_at", Time),
    Column("status", String(32), nullable=False),  # running, ok, partial, rate_limited, error, ...
    Column("pages", Integer, nullable=False, server_default="0"),
    Column("posts_fetched", Integer, nullable=False, server_default="0"),
    Column("posts_new", Integer, nullable=False, server_default="0"),
    Column("message", Text),  # redacted, human-readable summary or error
    Column("rate_limited_until", Time),
    Index("ix_collector_runs_source", "source", "started_at"),
)

cases = Table(
    "cases",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("signature", String(64), nullable=False, unique=True),  # text hash of its first post
    Column("agency_id", String(64)),
    Column("first_seen", Time, nullable=False),
    Column("last_seen", Time, nullable=False),
    Column("size", Integer, nullable=False, server_default="1"),
    Column("engagement", BigInteger, nullable=False, server_default="0"),
    Column("tier", String(4)),  # highest tier reached so far
    Column("lead_post_pk", Id),  # the post the queue item shows
)

triage_results = Table(
    "triage_results",
    metadata,
    Column("post_pk", Id, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("triaged_at", Time, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("kind_score", Float, nullable=False),
    Column("substance", String(64), nullable=False),
    Column("substance_score", Float, nullable=False),
    Column("maladministration", String(64), nullable=False),
    Column("maladministration_score", Float, nullable=False),
    Column("labels", JSON, nullable=False),  # full labels: alternatives and evidence
    Column("agency_id", String(64)),
    Column("region", String(16)),
    Column("virality_score", Float, nullable=False),
    Column("engagement_per_hour", Float, nullable=False),
    Column("virality", JSON, nullable=False),
    Column("priority_score", Float, nullable=False),
    Column("tier", String(4), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("models", JSON, nullable=False),
    Column("qualified", Boolean, nullable=False),
    Index("ix_triage_results_priority", "priority_score"),
)

queue_items = Table(
    "queue_items",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("item_id", String(36), nullable=False, unique=True),
    Column("idempotency_key", String(96), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("case_id", Id, ForeignKey("cases.id")),
    Column("post_pk", Id, ForeignKey("posts.id"), nullable=False),
    Column("tier", String(4), nullable=False),
    Column("priority_score", Float, nullable=False),
    Column("payload", JSON, nullable=False),  # the contract item, redacted
    Column("enqueued_at", Time, nullable=False),
    Column("status", String(16), nullable=False),  # ready, leased, acked, dead, superseded
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("available_at", Time, nullable=False),
    Column("delivery_id", String(36), unique=True),
    Column("lease_until", Time),
    Column("consumer", String(64)),
    Column("acked_at", Time),
    Column("last_error", Text),
    Column("decision", String(16)),  # "dismissed": the revision telling consumers a person dismissed it
    UniqueConstraint("idempotency_key", "revision"),
    Index("ix_queue_items_ready", "status", "available_at", "priority_score"),
)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # peninjau, analis, admin
    Column("password_hash", Text, nullable=False),
    Column("created_at", Time, nullable=False),
    Column("disabled", Boolean, nullable=False, server_default="0"),
)

reviews = Table(
    "reviews",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("post_pk", Id, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("at", Time, nullable=False),
    Column("action", String(32), nullable=False),  # label, escalate, dismiss, assign, note
    Column("field", String(32)),  # kind, substance, maladministration (for action=label)
    Column("value", Text),  # the human label, assignee name, reason or note
    Index("ix_reviews_post", "post_pk"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", Time, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(128)),
    Column("detail", JSON),
)

# --- queue consumers and deliveries (issue 6; migration 0004) ---------------------------------

consumers = Table(
    "consumers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),  # also queue_items.consumer
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex of the bearer token
    Column("created_at", Time, nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),  # inactive: no API, no pushes
    Column("webhook_url", Text),  # NULL: pull only
    Column("webhook_secret", Text),  # HMAC key for X-Pantau-Signature; never logged or listed
)

queue_deliveries = Table(
    "queue_deliveries",
    metadata,
    # One row per claim of a queue item (pull), so a late ack of an old delivery is told apart
    # from an unknown one (409 lease expired vs 404).
    Column("delivery_id", String(36), primary_key=True),
    Column("queue_item_pk", Id, ForeignKey("queue_items.id", ondelete="CASCADE"), nullable=False),
    Column("consumer", String(64), nullable=False),
    Column("claimed_at", Time, nullable=False),
    Column("lease_until", Time, nullable=False),
    Column("outcome", String(16)),  # NULL while leased; acked, nacked, dead
    Column("settled_at", Time),
    Column("error", Text),  # the consumer's nack reason (truncated)
    Index("ix_queue_deliveries_item", "queue_item_pk"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    # Push: one row per (consumer, queue item); each consumer has its own retry state, so a
    # slow or failing endpoint never holds back another consumer.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("delivery_id", String(36), nullable=False, unique=True),  # X-Pantau-Delivery
    Column("consumer_id", Id, ForeignKey("consumers.id", ondelete="CASCADE"), nullable=False),
    Column("queue_item_pk", Id, ForeignKey("queue_items.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),  # pending, delivered, dead, superseded
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Time, nullable=False),
    Column("locked_until", Time),  # a dispatcher is sending it until then
    Column("created_at", Time, nullable=False),
    Column("delivered_at", Time),
    Column("last_status", Integer),  # HTTP status of the last attempt, NULL on network errors
    Column("last_error", Text),  # short, never the URL, the secret or a response body
    UniqueConstraint("consumer_id", "queue_item_pk"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)

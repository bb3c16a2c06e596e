"""indexes for the review pages

The inbox orders triaged posts by priority and filters them by agency, substance,
maladministration and tier; each (filter, priority) index lets the database walk straight to one
page of the ordered result. The others serve the status of an item (its reviews and its case's
queue items), the posts of a case, and the login rate limit (failed logins in the audit log).

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_triage_results_priority_post", "triage_results", ["priority_score", "post_pk"]),
    ("ix_triage_results_agency_priority", "triage_results", ["agency_id", "priority_score"]),
    ("ix_triage_results_substance_priority", "triage_results", ["substance", "priority_score"]),
    ("ix_triage_results_maladministration_priority", "triage_results",
     ["maladministration", "priority_score"]),
    ("ix_triage_results_tier_priority", "triage_results", ["tier", "priority_score"]),
    ("ix_posts_case_id", "posts", ["case_id"]),
    ("ix_reviews_post_action_at", "reviews", ["post_pk", "action", "at"]),
    ("ix_queue_items_case_status", "queue_items", ["case_id", "status"]),
    ("ix_audit_log_action_target_at", "audit_log", ["action", "target", "at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, if_not_exists=True)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table, if_exists=True)

"""the review decision a queue item carries

`queue_items.decision` is "dismissed" for the revision that tells consumers a person dismissed
the case on the review page (contract field `review`), and null for every other item. The triage
stage reads it so that a dismissed case is not escalated again, and escalation by a person
reopens it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("queue_items") as batch:
        batch.add_column(sa.Column("decision", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("queue_items") as batch:
        batch.drop_column("decision")

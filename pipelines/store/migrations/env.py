"""Alembic environment: runs on the connection Pantau hands over (see pipelines/store/db.py)."""

from __future__ import annotations

from alembic import context

from pipelines.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite needs batch mode to alter tables
    transaction_per_migration=True,  # each named migration commits on its own
)
with context.begin_transaction():
    context.run_migrations()

"""Small SQL helpers that differ by dialect (SQLite for one node, PostgreSQL at scale)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert


def insert_ignore(conn: Connection, table: Table, conflict_columns: Sequence[str]) -> Insert:
    """INSERT ... ON CONFLICT (columns) DO NOTHING for the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))


def insert_ignore_count(conn: Connection, table: Table, conflict_columns: Sequence[str],
                        rows: list[dict] | dict) -> int:
    """Insert rows, skipping conflicts; returns how many rows were really inserted.

    Counted with RETURNING because drivers report no reliable rowcount for batched inserts.
    """
    if not rows:
        return 0
    pk = list(table.primary_key.columns)[0]
    statement = insert_ignore(conn, table, conflict_columns).returning(pk)
    return len(conn.execute(statement, rows if isinstance(rows, list) else [rows]).all())


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"

"""Small SQL helpers that differ by dialect (SQLite for one node, PostgreSQL at scale)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Engine, Table
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


class StatisticsRefresher:
    """ANALYZE some tables on PostgreSQL as a bulk load grows them: after `first` new rows, then
    each time their number doubles (a few times in all). Until autovacuum gets to a table, the
    planner believes a fresh table is tiny and answers index lookups by scanning it, so the cost
    per row grows with the table. SQLite needs none of this."""

    def __init__(self, engine: Engine, tables: Sequence[Table], first: int = 5_000) -> None:
        self.engine = engine
        self.tables = tuple(tables)
        self._since = 0
        self._after = first

    def note(self, new_rows: int) -> None:
        if self.engine.dialect.name != "postgresql":
            return
        self._since += new_rows
        if self._since < self._after:
            return
        with self.engine.begin() as conn:
            for table in self.tables:
                conn.exec_driver_sql(f"ANALYZE {table.name}")
        self._after = max(self._after, self._since) * 2
        self._since = 0

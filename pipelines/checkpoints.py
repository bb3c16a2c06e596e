"""Checkpoints: where each collector query stopped, kept in the `checkpoints` table.

A checkpoint is saved only after the page it describes is committed (`Ingestor.store_page`
commits first), so a crash in between makes the next run fetch that page again, which the
store absorbs (raw pages unique by hash, posts by platform id), and never skips one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from pipelines.store import schema as s

KEY_LENGTH = 255  # checkpoints.key column width


@dataclass(frozen=True)
class Checkpoint:
    key: str
    value: str
    updated_at: datetime


def load(engine: Engine, source: str, key: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(s.checkpoints.c.value).where(
            s.checkpoints.c.source == source, s.checkpoints.c.key == key)).scalar_one_or_none()


def load_all(engine: Engine, source: str, *, prefix: str = "") -> dict[str, Checkpoint]:
    """Every checkpoint of `source` whose key starts with `prefix`, by key."""
    c = s.checkpoints.c
    query = select(c.key, c.value, c.updated_at).where(c.source == source)
    if prefix:
        query = query.where(c.key.startswith(prefix, autoescape=True))
    with engine.connect() as conn:
        return {row.key: Checkpoint(row.key, row.value, row.updated_at) for row in conn.execute(query)}


def save_in(conn: Connection, source: str, key: str, value: str, now: datetime) -> None:
    """Insert or replace one checkpoint inside the caller's transaction."""
    if len(key) > KEY_LENGTH:
        raise ValueError(f"checkpoint key longer than {KEY_LENGTH} characters")
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(s.checkpoints).values(source=source, key=key, value=value, updated_at=now)
    conn.execute(statement.on_conflict_do_update(
        index_elements=["source", "key"], set_={"value": value, "updated_at": now}))


def save(engine: Engine, source: str, key: str, value: str, now: datetime) -> None:
    with engine.begin() as conn:
        save_in(conn, source, key, value, now)


def delete(engine: Engine, source: str, key: str) -> None:
    with engine.begin() as conn:
        conn.execute(s.checkpoints.delete().where(
            s.checkpoints.c.source == source, s.checkpoints.c.key == key))

"""Opening the database: engine creation, SQLite pragmas, schema migrations (Alembic)."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from triage.errors import PantauError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


class StoreError(PantauError):
    """The database cannot be opened, reached or migrated."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at each WAL checkpoint; safe with WAL
    # Checkpoints (WAL pages copied into the database, with an fsync) ran inside every third
    # triage commit at the default 1,000 pages; every 10,000 pages (40 MB) halves the time a
    # worker holds the write lock in commits (2.6 s -> 1.4 s per 38k posts). The WAL file is
    # cut back to 64 MB after a checkpoint.
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.execute("PRAGMA journal_size_limit=67108864")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")  # a second process waits instead of failing
    cursor.close()


def _json_dumps(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# JSON columns (labels, virality, queue payloads) are written for every triaged post: orjson
# encodes them several times faster than the json module.
_JSON_CODEC = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}


def create_db_engine(url: str) -> Engine:
    """An engine for `url`, with a clear error for an invalid URL or a missing driver."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(
            "invalid database URL (expected e.g. sqlite:///var/pantau.db or "
            "postgresql+psycopg://user@host/db)"
        ) from None
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30}, **_JSON_CODEC)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")  # the driver we ship
    if not parsed.drivername.startswith("postgresql"):
        raise StoreError(f"unsupported database {parsed.drivername!r}: use sqlite or postgresql")
    try:
        return create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": 10}, **_JSON_CODEC)
    except NoSuchModuleError:
        raise StoreError(f"no driver for database URL scheme {parsed.drivername!r}") from None


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


MIGRATION_LOCK_KEY = 0x70616E74  # "pant": PostgreSQL advisory lock held while migrating


@contextmanager
def _migration_file_lock(engine: Engine) -> Iterator[None]:
    """On SQLite, an exclusive lock on a file beside the database: processes that start at
    once (an import and its workers) migrate one after the other, not over each other."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(engine: Engine) -> None:
    """Apply every pending named migration. Concurrent callers wait for each other (a file lock
    on SQLite, an advisory lock on PostgreSQL); Alembic then reads the version inside the lock,
    so the second one finds nothing left to do."""
    config = _alembic_config()
    try:
        with _migration_file_lock(engine), engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise StoreError(f"cannot reach the database to migrate it: {exc.orig}") from None


def open_database(url: str, *, migrate: bool = True) -> Engine:
    """Engine for `url`, migrated to the newest schema when `migrate`."""
    engine = create_db_engine(url)
    if migrate:
        if current_revision_safe(engine) != head_revision():
            log.info("migrating database schema to %s", head_revision())
            upgrade(engine)
    return engine


def current_revision_safe(engine: Engine) -> str | None:
    try:
        return current_revision(engine)
    except OperationalError as exc:
        raise StoreError(f"cannot reach the database: {exc.orig}") from None

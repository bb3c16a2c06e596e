"""The store on SQLite and PostgreSQL: migrations, uniqueness, settings that choose it."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect, select
from sqlalchemy.exc import IntegrityError

from pipelines.settings import SettingsError, load_settings
from pipelines.store import schema as s
from pipelines.store.db import StoreError, create_db_engine, current_revision, head_revision, open_database

NOW = datetime(2026, 11, 22, 8, tzinfo=timezone.utc)


def test_migrations_create_every_table_at_head(engine) -> None:  # noqa: ANN001
    names = set(inspect(engine).get_table_names())
    assert {t.name for t in s.metadata.sorted_tables} <= names
    assert current_revision(engine) == head_revision()


def test_opening_twice_is_a_no_op(db_url: str) -> None:
    first = open_database(db_url)
    second = open_database(db_url)
    assert current_revision(second) == head_revision()
    first.dispose()
    second.dispose()


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def _raw_page(conn, sha: str) -> int:  # noqa: ANN001
    return conn.execute(insert(s.raw_pages).values(
        collector="file", collector_version="0.1.0", endpoint="file:x", fetched_at=NOW,
        sha256=sha, body="{}")).inserted_primary_key[0]


def test_posts_are_unique_per_platform_and_id(engine) -> None:  # noqa: ANN001
    row = {"platform": "x", "post_id": "1", "author_pseudonym": "a:00000000", "text": "t",
           "redacted_text": "t", "redaction_counts": {}, "created_at": NOW, "collector": "file",
           "collector_version": "0.1.0", "endpoint": "file:x", "fetched_at": NOW,
           "raw_sha256": "a" * 64, "inserted_at": NOW}
    with engine.begin() as conn:
        page = _raw_page(conn, "a" * 64)
        conn.execute(insert(s.posts).values(**row, raw_page_id=page))
        conn.execute(insert(s.posts).values(**{**row, "platform": "reddit"}, raw_page_id=page))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(s.posts).values(**row, raw_page_id=page))
    with engine.connect() as conn:
        stored = conn.execute(select(s.posts.c.created_at)).scalars().all()
    assert stored == [NOW, NOW]  # aware UTC datetimes back, on both dialects


def test_invalid_database_url_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="invalid database URL"):
        create_db_engine("not a url")
    with pytest.raises(StoreError, match="unsupported database"):
        create_db_engine("mysql://u@h/db")


def test_database_url_and_data_dir_come_from_env_then_file(tmp_path: Path) -> None:
    config = tmp_path / "pantau.toml"
    config.write_text('data_dir = "from-file"\nretention_days = 10\n[queue.policy]\nmax_tier = "P2"\n')
    settings = load_settings({}, env={"PANTAU_DATA_DIR": str(tmp_path / "env")}, config_path=config)
    assert settings.data_dir == tmp_path / "env"  # env beats file
    assert settings.retention_days == 10 and settings.section("queue")["policy"]["max_tier"] == "P2"
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'env' / 'pantau.db').resolve()}"
    flagged = load_settings({"database_url": "sqlite:///other.db"}, env={"PANTAU_DATABASE_URL": "sqlite:///env.db"})
    assert flagged.database_url == "sqlite:///other.db"  # flag beats env
    with pytest.raises(SettingsError, match="whole number"):
        load_settings({}, env={"PANTAU_RETENTION_DAYS": "lama"})
    config.write_text("retention_days = [")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings({}, env={}, config_path=config)


def test_secrets_never_print(tmp_path: Path) -> None:
    settings = load_settings({}, env={"PANTAU_X_BEARER_TOKEN": "AAAA-very-secret-token"})
    assert "very-secret" not in repr(settings) and "very-secret" not in str(settings.x_bearer_token)
    assert settings.x_bearer_token.get() == "AAAA-very-secret-token"
    with pytest.raises(SettingsError, match="PANTAU_PSEUDONYM_KEY"):
        settings.require_pseudonym_key()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_processes_starting_at_once_on_a_fresh_database_all_migrate_it(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """An import and its workers started together must not migrate over each other (this failed
    with "table audit_log already exists" before the migration lock)."""
    import subprocess
    import sys
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        request.getfixturevalue("pg_template")  # skips (or fails in CI) without a server
        from tests.conftest import _admin_engine

        name = f"pantau_fresh_{uuid.uuid4().hex[:8]}"
        with _admin_engine().connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(str(_admin_engine().url)).set(database=name).render_as_string(hide_password=False)
        request.addfinalizer(lambda: _admin_engine().connect().execute(
            text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))
    code = f"from pipelines.store.db import open_database; open_database({url!r}).dispose()"
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    errors = [p.communicate()[1] for p in procs if p.wait() != 0]
    assert not errors, errors[0]
    assert current_revision(create_engine(url)) == head_revision()


@pytest.mark.postgres
def test_bulk_loads_refresh_postgres_statistics(pg_url: str) -> None:
    """Without ANALYZE, lookups on a freshly loaded table scanned it (import cost grew with it)."""
    from sqlalchemy import text

    from pipelines.store.sql import StatisticsRefresher

    engine = open_database(pg_url)
    try:
        refresher = StatisticsRefresher(engine, [s.posts], first=100)
        last = "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'posts'"
        refresher.note(99)
        with engine.connect() as conn:
            assert conn.execute(text(last)).scalar() is None
        refresher.note(1)
        with engine.connect() as conn:
            assert conn.execute(text(last)).scalar() is not None
        assert refresher._after == 200  # next after twice as many new rows
    finally:
        engine.dispose()

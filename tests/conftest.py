"""Shared fixtures: real databases (SQLite always, PostgreSQL when reachable), a frozen clock,
an application context, the production classifier loaded once.

PostgreSQL: PANTAU_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
Each test gets its own database cloned from a migrated template, so tests never see each
other's rows. With PANTAU_REQUIRE_POSTGRES=1 (CI) an unreachable server fails the run instead of
skipping the PostgreSQL tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from pipelines.context import AppContext
from pipelines.settings import load_settings
from pipelines.store.db import open_database

REPO = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get(
    "PANTAU_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
FROZEN_NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)


class FrozenClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime = FROZEN_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.now += timedelta(**delta)


def _admin_engine():  # noqa: ANN202
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database on the PostgreSQL server, or skip (fail in CI)."""
    name = f"pantau_tmpl_{uuid.uuid4().hex[:8]}"
    try:
        admin = _admin_engine()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure means "no server here"
        if os.environ.get("PANTAU_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required (PANTAU_REQUIRE_POSTGRES=1) but unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = open_database(url)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    name = f"pantau_t_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'pantau.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Runs the test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pantau.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url: str):  # noqa: ANN201
    engine = open_database(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


def make_context(db_url: str, data_dir: Path, clock: FrozenClock, **overrides: object) -> AppContext:
    settings = load_settings(
        {"database_url": db_url, "data_dir": str(data_dir), "pseudonym_key": "test-pseudonym-key",
         "secret_key": "test-secret-key", **overrides},
        env={},
        config_path=None,
    )
    return AppContext(settings, clock=clock)


@pytest.fixture
def app_ctx(db_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[AppContext]:
    """An application context on a fresh database (both dialects), with a frozen clock."""
    ctx = make_context(db_url, tmp_path, clock)
    yield ctx
    ctx.close()


@pytest.fixture(scope="session")
def classifier():  # noqa: ANN201
    """The production classifier of models/, loaded once for the whole run."""
    from pipelines.models import load_classifier

    return load_classifier(REPO / "models")

"""Helpers and fixtures shared by the queue, API, webhook and contract tests (no tests here).

`contract_item` builds a realistic contract-v1 item with the real builder
(triage.contract.build_queue_item); `seed_items` stores posts and queue items in a real database
through `pipelines.queue.enqueue`, as the triage stage's outbox would.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import Engine, create_engine, insert, select, text
from sqlalchemy.engine import make_url

from pipelines import queue
from pipelines.context import AppContext
from pipelines.settings import load_settings
from pipelines.store import schema as s
from pipelines.store.db import open_database
from tests.conftest import PG_URL
from triage.agencies import Agency
from triage.classify import LabelPrediction, Labels
from triage.contract import PostView, ProvenanceView, build_queue_item
from triage.priority import Priority
from triage.virality import Virality

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "pipelines" / "schemas" / "queue-item-1.schema.json"


@lru_cache(maxsize=1)
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def assert_valid(item: dict[str, Any]) -> None:
    errors = sorted(validator().iter_errors(item), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def labels(kind: str = "aduan", kind_score: float = 0.94,
           substance: str = "administrasi_kependudukan", mal: str = "permintaan_imbalan",
           mal_score: float = 0.82) -> Labels:
    return Labels(
        kind=LabelPrediction(kind, kind_score, (("pertanyaan", round(1 - kind_score, 4)),), ()),
        substance=LabelPrediction(substance, 0.91, (("kepolisian", 0.03),), ("dukcapil",)),
        maladministration=LabelPrediction(mal, mal_score, (("tidak_ada", 0.1),),
                                          ("bayar 200rb biar cepat",)),
    )


def contract_item(*, now: datetime, post_id: str = "1879859779184820459", revision: int = 1,
                  key: str | None = None, tier: str = "P1", score: float = 0.88,
                  case_id: int | None = 2211, agency: bool = True) -> dict[str, Any]:
    """The example of DESIGN.md, built by the production builder."""
    dukcapil = Agency(id="dukcapil", name="Ditjen Dukcapil", substance="administrasi_kependudukan",
                      region="")
    return build_queue_item(
        item_id=str(uuid.uuid4()),
        idempotency_key=key or f"x:{post_id}",
        revision=revision,
        enqueued_at=now,
        post=PostView("x", post_id, f"https://x.com/i/web/status/{post_id}",
                      now - timedelta(minutes=17), "id",
                      "NIK saya [NIK] ditolak di loket, disuruh bayar 200rb biar cepat "
                      "@DukcapilKemendagri", "a:9c41e0d2", 1840, {"NIK": 1}),
        labels=labels(),
        agency=dukcapil if agency else None,
        virality=Virality(score=71.0, engagement=420, engagement_per_hour=38.5, acceleration=1.2,
                          baseline_ratio=6.2, forecast=None),
        priority=Priority(score, tier, ("permintaan imbalan", "viralitas 71")),
        case_key=f"c:{case_id}" if case_id is not None else None,
        provenance=ProvenanceView("x", "0.3.0", "@DukcapilKemendagri lang:id -is:retweet",
                                  now - timedelta(seconds=7),
                                  hashlib.sha256(post_id.encode()).hexdigest()),
        models={"kind": "kind/20261120-a1b2c3", "substance": "substance/20261120-a1b2c3",
                "maladministration": "maladministration/20261120-a1b2c3"},
    )


def _post_rows(conn: Any, n: int, now: datetime, start: int) -> list[int]:
    page = conn.execute(insert(s.raw_pages).values(
        collector="file", collector_version="0.1.0", endpoint="file:test", fetched_at=now,
        sha256=hashlib.sha256(f"page-{start}-{uuid.uuid4()}".encode()).hexdigest(), body="{}",
    )).inserted_primary_key[0]
    rows = [{"platform": "x", "post_id": str(10_000 + i), "author_pseudonym": "a:00000000",
             "text": "t", "redacted_text": "t", "redaction_counts": {}, "created_at": now,
             "collector": "file", "collector_version": "0.1.0", "endpoint": "file:test",
             "fetched_at": now, "raw_sha256": "a" * 64, "inserted_at": now, "raw_page_id": page,
             "triage_state": "done"} for i in range(start, start + n)]
    conn.execute(insert(s.posts), rows)
    keys = {str(10_000 + i) for i in range(start, start + n)}
    found = dict(conn.execute(select(s.posts.c.post_id, s.posts.c.id)
                              .where(s.posts.c.platform == "x", s.posts.c.post_id.in_(keys))).all())
    return [found[str(10_000 + i)] for i in range(start, start + n)]


def seed_items(engine: Engine, n: int, *, now: datetime, scores: list[float] | None = None,
               start: int = 0) -> list[dict[str, Any]]:
    """Store `n` queue items (one post each); returns their payloads in insertion order."""
    items = []
    with engine.begin() as conn:
        for i, pk in enumerate(_post_rows(conn, n, now, start)):
            score = scores[i] if scores else 0.5
            item = contract_item(now=now, post_id=str(10_000 + start + i), score=score,
                                 case_id=None, tier="P2")
            assert queue.enqueue(conn, item, post_pk=pk, case_id=None, now=now)
            items.append(item)
    return items


# --- one database per test module (per dialect), emptied before each test ----------------------
# Creating a database per test costs ~1 s on a busy PostgreSQL server; the queue tests only need
# empty tables, so each module clones the migrated template once and deletes rows between tests.

@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def queue_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('queue-db') / 'pantau.db'}"
        open_database(url).dispose()
        yield url
        return
    template = request.getfixturevalue("pg_template")
    name = f"pantau_q_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def empty_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(s.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def qdb_url(queue_db_url: str) -> str:
    """The module's database (SQLite, then PostgreSQL), with every table empty."""
    engine = open_database(queue_db_url, migrate=False)
    empty_tables(engine)
    engine.dispose()
    return queue_db_url


@pytest.fixture
def qengine(qdb_url: str) -> Iterator[Engine]:
    engine = open_database(qdb_url, migrate=False)
    yield engine
    engine.dispose()


def make_ctx(db_url: str, tmp_path: Path, clock: Any, config: str = "") -> AppContext:
    """An application context on `db_url` (already migrated) with `config` as its config file."""
    path = tmp_path / "pantau.toml"
    path.write_text(config)
    settings = load_settings({"database_url": db_url, "data_dir": str(tmp_path),
                              "pseudonym_key": "test-pseudonym-key", "secret_key": "s"},
                             env={}, config_path=path)
    return AppContext(settings, clock=clock, _engine=open_database(db_url, migrate=False))


def contract_schema_inlined() -> dict[str, Any]:
    """The contract schema with its '#/$defs' references replaced by their targets."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    defs = schema.pop("$defs")
    schema.pop("$schema"), schema.pop("$id")
    text_ = json.dumps(schema)
    for name, target in defs.items():
        text_ = text_.replace(json.dumps({"$ref": f"#/$defs/{name}"}), json.dumps(target))
    return json.loads(text_)

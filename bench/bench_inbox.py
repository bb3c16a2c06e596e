"""Benchmark: the review inbox with 100,000 triaged posts in SQLite (or --database-url).

Seeds posts, triage results, cases, metric snapshots, reviews and queue items, then times the
inbox query (first page, a deep keyset page, each filter, search, status) and whole HTTP page
renders through the app (login, inbox, detail, ringkasan). Prints a table of median timings.

    .venv/bin/python bench/bench_inbox.py [--posts 100000] [--database-url URL] [--repeat 5]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import func, insert, select

import review
from pipelines.context import AppContext
from pipelines.settings import load_settings
from pipelines.store import schema as s
from pipelines.users import create_user
from review.queries import InboxFilter, inbox_page
from triage.taxonomy import KINDS, MALADMINISTRATION, SUBSTANCES

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
AGENCIES = ["pln", "dukcapil", "bpjs_kesehatan", "kai_commuter", "polri", "pdam_jaya", None]
WORDS = ("listrik padam token antre loket pungli ktp belum jadi bpjs klaim ditolak jalan rusak "
         "krl telat petugas kasar aplikasi error bayar biar cepat sudah tiga bulan tolong min").split()
CHUNK = 5000


def _rows(n: int, rng: random.Random) -> tuple[list, list, list, list, list, list]:
    pages, posts, cases, results, snaps = [], [], [], [], []
    for i in range(1, n + 1):
        if i % 100 == 1:
            pages.append({"id": i // 100 + 1, "collector": "x", "collector_version": "0.1.0",
                          "query": "bench", "endpoint": "search", "fetched_at": NOW,
                          "sha256": hashlib.sha256(str(i).encode()).hexdigest(), "body": None})
        created = NOW - timedelta(minutes=rng.randint(0, 30 * 24 * 60))
        agency = rng.choice(AGENCIES)
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))
        posts.append({"id": i, "platform": "x" if i % 10 else "reddit", "post_id": str(10**15 + i),
                      "url": None, "author_pseudonym": f"a:{i:08x}", "author_followers": rng.randint(0, 5000),
                      "text": text, "redacted_text": text, "redaction_counts": {}, "lang": "id",
                      "created_at": created, "raw_page_id": (i - 1) // 100 + 1, "collector": "x",
                      "collector_version": "0.1.0", "query": "bench", "endpoint": "search",
                      "fetched_at": created, "raw_sha256": "0" * 64, "inserted_at": created,
                      "triage_state": "done", "case_id": i})
        cases.append({"id": i, "signature": f"{i:032x}", "agency_id": agency, "first_seen": created,
                      "last_seen": created, "size": 1, "engagement": 0, "tier": None, "lead_post_pk": i})
        kind = rng.choices(KINDS, weights=(6, 2, 2))[0]
        substance = rng.choice(SUBSTANCES)
        mal = rng.choice(MALADMINISTRATION) if kind == "aduan" else "tidak_ada"
        score = rng.random()
        lab = {name: {"label": value, "score": 0.8, "alternatives": [], "evidence": []}
               for name, value in (("kind", kind), ("substance", substance), ("maladministration", mal))}
        results.append({"post_pk": i, "triaged_at": NOW, "kind": kind, "kind_score": 0.8,
                        "substance": substance, "substance_score": 0.7, "maladministration": mal,
                        "maladministration_score": 0.6, "labels": lab, "agency_id": agency, "region": None,
                        "virality_score": rng.random() * 100, "engagement_per_hour": 1.0, "virality": {},
                        "priority_score": score, "tier": "P1" if score > .6 else "P2" if score > .4 else
                        "P3" if score > .2 else "P4", "reasons": ["bench"], "models": {}, "qualified": False})
        for k in range(3):
            snaps.append({"post_pk": i, "at": created + timedelta(hours=k + 1), "likes": k * 5,
                          "reposts": k, "quotes": 0, "replies": k, "views": 100 * k})
    return pages, posts, cases, results, snaps, []


def seed(ctx: AppContext, n: int) -> float:
    started = time.perf_counter()
    rng = random.Random(7)
    pages, posts, cases, results, snaps, _ = _rows(n, rng)
    user = create_user(ctx.engine, "bench", "analis", "kata-sandi-bench", now=NOW,
                       hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    reviews = [{"post_pk": i, "user_id": user.id, "at": NOW - timedelta(hours=1),
                "action": rng.choice(("label", "dismiss", "note", "escalate")), "field": None, "value": "x"}
               for i in rng.sample(range(1, n + 1), n // 20)]
    queue = [{"item_id": f"00000000-0000-4000-8000-{i:012d}", "idempotency_key": f"x:{10**15 + i}",
              "revision": 1, "case_id": i, "post_pk": i, "tier": "P2", "priority_score": 0.5,
              "payload": {}, "enqueued_at": NOW, "status": rng.choice(("ready", "acked")),
              "available_at": NOW} for i in rng.sample(range(1, n + 1), n // 10)]
    with ctx.engine.begin() as conn:
        for table, rows in ((s.raw_pages, pages), (s.cases, cases), (s.posts, posts),
                            (s.triage_results, results), (s.metric_snapshots, snaps),
                            (s.reviews, reviews), (s.queue_items, queue)):
            for start in range(0, len(rows), CHUNK):
                conn.execute(insert(table), rows[start:start + CHUNK])
    if ctx.engine.dialect.name == "sqlite":
        with ctx.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def timed(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm the caches once
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="pantau-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    settings = load_settings({"database_url": url, "data_dir": str(folder), "secret_key": "bench",
                              "pseudonym_key": "bench"}, env={})
    ctx = AppContext(settings, clock=lambda: NOW)
    with ctx.engine.connect() as conn:
        existing = conn.execute(select(func.count()).select_from(s.triage_results)).scalar_one()
    if existing:  # a database seeded by an earlier run (--database-url): reuse it
        print(f"reusing {existing:,} triaged posts in {url}")
    else:
        print(f"seeding {args.posts:,} triaged posts into {ctx.engine.dialect.name} ...", flush=True)
        print(f"  seeded in {seed(ctx, args.posts):.1f} s ({url})")

    cases: list[tuple[str, InboxFilter, dict]] = [
        ("first page, no filter", InboxFilter(), {}),
        ("agency = dukcapil", InboxFilter(agency="dukcapil"), {}),
        ("substance = pajak", InboxFilter(substance="pajak"), {}),
        ("maladministration + tier", InboxFilter(maladministration="permintaan_imbalan", tier="P1"), {}),
        ("kind = pertanyaan", InboxFilter(kind="pertanyaan"), {}),
        ("platform = reddit", InboxFilter(platform="reddit"), {}),
        ("date range (3 days)", InboxFilter(since=date(2026, 11, 10), until=date(2026, 11, 12)), {}),
        ("status = ditolak (rare)", InboxFilter(status="ditolak"), {}),
        ("status = baru", InboxFilter(status="baru"), {}),
        ("text search 'pungli'", InboxFilter(text="pungli"), {}),
        ("text search, no hit", InboxFilter(text="zzzz tidak ada"), {}),
    ]
    print(f"\n{'inbox query (50 rows + count + sparklines)':<48} {'median ms':>10}")
    with ctx.engine.connect() as conn:
        for name, f, kw in cases:
            print(f"{name:<48} {timed(lambda f=f, kw=kw: inbox_page(conn, f, **kw), args.repeat):>10.1f}")
        page = inbox_page(conn, InboxFilter())
        for _ in range(40):  # walk 40 pages deep: keyset pages cost the same
            page = inbox_page(conn, InboxFilter(), after=page.next)
        deep = page.next
        deep_ms = timed(lambda: inbox_page(conn, InboxFilter(), after=deep), args.repeat)
        print(f"{'page 42 (keyset)':<48} {deep_ms:>10.1f}")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    app = FastAPI()
    review.mount(app, ctx, password_hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    client = TestClient(app, base_url="https://testserver")
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/masuk").text).group(1)
    client.post("/masuk", data={"csrf_token": token, "nama": "bench", "sandi": "kata-sandi-bench"})
    print(f"\n{'HTTP page (login, render, response)':<48} {'median ms':>10}")
    cache = app.state.pantau_review.cache
    for path, cached in (("/", False), ("/?instansi=pln&jenis=aduan", False),
                         ("/?cari=pungli&status=baru", False), ("/posts/4242", False),
                         ("/ringkasan", False), ("/ringkasan?hari=30", False),
                         ("/ringkasan?hari=30", True), ("/sumber", False)):
        def get(path: str = path, cached: bool = cached) -> None:
            if not cached:
                cache.clear()  # time the computation, not the per-minute cache
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        label = f"{path} (cached)" if cached else path
        print(f"GET {label:<44} {timed(get, args.repeat):>10.1f}")
    ctx.close()


if __name__ == "__main__":
    main()

"""Queue throughput on PostgreSQL: enqueue, then claim + ack with 1 and 4 consumer processes.

Creates a fresh database on the server (dropped at the end), stores N posts and enqueues N
contract items in transactions of 100 (as the triage stage's outbox does), then lets K consumer
processes drain the queue through the Python API: `claim(max=B)` and one `ack` per item (what a
consumer of the HTTP API does; `--batched-acks` adds rounds settling each batch with one
`ack_many`). Each round starts from a freshly enqueued queue; the consumers' start-up is excluded
(they wait on a barrier). Every ack is a durable commit, so the figures follow the server's
fsync latency.

    .venv/bin/python bench/bench_queue.py                      # 5000 items, batches of 50, K = 1, 4
    .venv/bin/python bench/bench_queue.py --items 20000 --batch 100 --consumers 1 2 4 8
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from pipelines import queue  # noqa: E402
from pipelines.store import schema as s  # noqa: E402
from pipelines.store.db import open_database  # noqa: E402
from triage.agencies import Agency  # noqa: E402
from triage.classify import LabelPrediction, Labels  # noqa: E402
from triage.contract import PostView, ProvenanceView, build_queue_item  # noqa: E402
from triage.priority import Priority  # noqa: E402
from triage.virality import Virality  # noqa: E402

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ENQUEUE_TX = 100
NOW = datetime(2026, 11, 22, 8, tzinfo=timezone.utc)
AGENCY = Agency(id="dukcapil", name="Ditjen Dukcapil", substance="administrasi_kependudukan")
LABELS = Labels(
    kind=LabelPrediction("aduan", 0.94, (("pertanyaan", 0.05),), ()),
    substance=LabelPrediction("administrasi_kependudukan", 0.91, (("kepolisian", 0.03),), ()),
    maladministration=LabelPrediction("permintaan_imbalan", 0.82, (("tidak_ada", 0.1),),
                                      ("bayar 200rb biar cepat",)),
)


def _item(post_id: str, score: float) -> dict[str, Any]:
    return build_queue_item(
        item_id=str(uuid.uuid4()), idempotency_key=f"x:{post_id}", revision=1, enqueued_at=NOW,
        post=PostView("x", post_id, f"https://x.com/i/web/status/{post_id}", NOW, "id",
                      "NIK saya [NIK] ditolak di loket, disuruh bayar 200rb biar cepat "
                      "@DukcapilKemendagri", "a:9c41e0d2", 1840, {"NIK": 1}),
        labels=LABELS, agency=AGENCY,
        virality=Virality(71.0, 420, 38.5, 1.2, 6.2, None),
        priority=Priority(score, "P1" if score >= 0.6 else "P2", ("permintaan imbalan",)),
        case_key=None,
        provenance=ProvenanceView("x", "0.3.0", "@DukcapilKemendagri lang:id -is:retweet", NOW,
                                  hashlib.sha256(post_id.encode()).hexdigest()),
        models={"kind": "kind/bench", "substance": "substance/bench"},
    )


def _posts(engine: Any, n: int, round_no: int) -> list[int]:
    with engine.begin() as conn:
        page = conn.execute(insert(s.raw_pages).values(
            collector="file", collector_version="0.1.0", endpoint="bench", fetched_at=NOW,
            sha256=hashlib.sha256(f"bench-{round_no}".encode()).hexdigest(), body="{}")
        ).inserted_primary_key[0]
        conn.execute(insert(s.posts), [
            {"platform": "x", "post_id": f"{round_no}{i:09d}", "author_pseudonym": "a:00000000",
             "text": None, "redacted_text": "t", "redaction_counts": {}, "created_at": NOW,
             "collector": "file", "collector_version": "0.1.0", "endpoint": "bench",
             "fetched_at": NOW, "raw_sha256": "a" * 64, "inserted_at": NOW, "raw_page_id": page,
             "triage_state": "done"} for i in range(n)])
        return list(conn.execute(select(s.posts.c.id, s.posts.c.post_id)
                                 .where(s.posts.c.raw_page_id == page).order_by(s.posts.c.id)))


def enqueue_round(engine: Any, n: int, round_no: int) -> float:
    """Store n posts (untimed), then enqueue one item per post; returns items/s of enqueueing."""
    posts = _posts(engine, n, round_no)
    items = [(pk, _item(post_id, (i * 7919 % 1000) / 1000)) for i, (pk, post_id) in enumerate(posts)]
    started = time.perf_counter()
    for start in range(0, n, ENQUEUE_TX):
        with engine.begin() as conn:
            queue.enqueue_many(conn, [(item, pk, None) for pk, item in items[start:start + ENQUEUE_TX]],
                               now=NOW)
    return n / (time.perf_counter() - started)


def consumer(url: str, name: str, batch: int, batched_acks: bool, barrier: Any, results: Any) -> None:
    engine = create_engine(url, pool_size=1)
    with engine.connect() as conn:  # connect before the clock starts
        conn.execute(text("SELECT 1"))
    barrier.wait()
    done = claims = 0
    now = NOW + timedelta(seconds=1)
    while got := queue.claim(engine, name, batch, 600, now=now):
        claims += 1
        if batched_acks:
            outcome = queue.ack_many(engine, [d.delivery_id for d in got], now=now, consumer=name)
            assert set(outcome.values()) == {"acked"}
        else:
            for delivery in got:
                queue.ack(engine, delivery.delivery_id, now=now, consumer=name)
        done += len(got)
    results.put((name, done, claims))
    engine.dispose()


def drain_round(url: str, consumers: int, batch: int, batched_acks: bool,
                expected: int) -> tuple[float, list]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(consumers + 1)
    results = ctx.Queue()
    procs = [ctx.Process(target=consumer, args=(url, f"c{n}", batch, batched_acks, barrier, results))
             for n in range(consumers)]
    for proc in procs:
        proc.start()
    barrier.wait()
    started = time.perf_counter()
    counts = [results.get(timeout=600) for _ in procs]
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join()
    total = sum(done for _, done, _ in counts)
    if total != expected:
        raise SystemExit(f"drained {total} items, expected {expected}")
    return total / elapsed, counts


def reset(engine: Any) -> None:
    with engine.begin() as conn:
        for table in (s.webhook_deliveries, s.queue_deliveries, s.queue_items, s.posts, s.raw_pages):
            conn.execute(table.delete())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=SERVER, help=f"PostgreSQL server URL (default {SERVER})")
    parser.add_argument("--items", type=int, default=5000, help="items per round (default 5000)")
    parser.add_argument("--batch", type=int, default=50, help="claim size (default 50)")
    parser.add_argument("--consumers", type=int, nargs="+", default=[1, 4],
                        help="consumer process counts, one round each (default 1 4)")
    parser.add_argument("--batched-acks", action="store_true",
                        help="also run rounds that settle each claimed batch with ack_many")
    args = parser.parse_args(argv)

    name = f"pantau_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.server).set(database=name).render_as_string(hide_password=False)
    try:
        engine = open_database(url)
        print(f"database {name}; {args.items} items per round, claims of {args.batch}", flush=True)
        print(f"{'consumers':>9}  {'acks':<12}  {'enqueue items/s':>15}  {'claim+ack items/s':>17}"
              "  claims per consumer")
        round_no = 0
        for batched in (False, True) if args.batched_acks else (False,):
            for k in args.consumers:
                round_no += 1
                reset(engine)
                enqueue_rate = enqueue_round(engine, args.items, round_no)
                rate, counts = drain_round(url, k, args.batch, batched, args.items)
                per = ", ".join(str(claims) for _, _, claims in sorted(counts))
                acks = "per batch" if batched else "one per item"
                print(f"{k:>9}  {acks:<12}  {enqueue_rate:>15,.0f}  {rate:>17,.0f}  {per}", flush=True)
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

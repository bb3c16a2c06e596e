"""The queue at scale on the PostgreSQL server: consumer *processes* claiming concurrently.

Each consumer is a real OS process with its own connections, using the Python API; claims rely
on `FOR UPDATE SKIP LOCKED` in the database, not on any lock in our process.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import create_engine

from pipelines import queue
from pipelines.store.db import open_database
from tests.pipelines.test_queue_support import seed_items

pytestmark = pytest.mark.postgres

# Consumers are forked processes (fast to start; each opens its own engine and connections,
# never the parent's) that end with os._exit, so no inherited connection is ever closed twice.
FORK = multiprocessing.get_context("fork")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _drain(url: str, name: str, batch: int, lease: int, go: Any, out: Any) -> None:
    """Claim until the queue is empty; ack nothing (everything stays leased)."""
    try:
        engine = create_engine(url)
        go.wait(30)
        claimed = []
        while got := queue.claim(engine, name, batch, lease, now=_now()):
            claimed.extend(d.item["item_id"] for d in got)
        out.send(claimed)
    finally:
        os._exit(0)


def _die(url: str, batch: int, lease: int, out: Any) -> None:
    """Claim one batch, ack five, report, then wait to be killed."""
    try:
        engine = create_engine(url)
        got = queue.claim(engine, "doomed", batch, lease, now=_now())
        acked = [d.item["item_id"] for d in got[:5] if queue.ack(engine, d.delivery_id, now=_now())]
        out.send({"items": [d.item["item_id"] for d in got], "acked": acked,
                  "lease_until": got[0].lease_until})
        time.sleep(600)
    finally:
        os._exit(0)


def test_consumer_processes_claiming_concurrently_never_share_an_item(pg_url: str) -> None:
    engine = open_database(pg_url)
    items = {i["item_id"] for i in seed_items(engine, 200, now=_now())}
    engine.dispose()  # nothing pooled for the children to inherit
    go = FORK.Event()
    pipes = [FORK.Pipe(duplex=False) for _ in range(4)]
    procs = [FORK.Process(target=_drain, args=(pg_url, f"worker-{n}", 9, 600, go, pipes[n][1]))
             for n in range(4)]
    for proc, (_, send) in zip(procs, pipes, strict=True):
        proc.start()
        send.close()  # the child's end: a child that dies unreported reads as EOF here
    go.set()  # all four claim at once
    claimed = {}
    for n, (receive, _) in enumerate(pipes):
        assert receive.poll(60), f"worker-{n} reported nothing"
        claimed[f"worker-{n}"] = receive.recv()
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    every = [i for got in claimed.values() for i in got]
    assert len(every) == len(set(every)), "an item was delivered twice within its lease"
    assert set(every) == items
    assert sum(1 for got in claimed.values() if got) >= 2, "the claims did not run concurrently"
    stats = queue.stats(engine, now=_now())
    assert stats["leased"] == 200 and stats["ready"] == 0
    engine.dispose()


def test_a_consumer_killed_mid_batch_loses_nothing(pg_url: str) -> None:
    engine = open_database(pg_url)
    items = {i["item_id"] for i in seed_items(engine, 40, now=_now())}
    engine.dispose()
    receive, send = FORK.Pipe(duplex=False)
    proc = FORK.Process(target=_die, args=(pg_url, 20, 2, send))  # a 2-second lease
    proc.start()
    send.close()
    assert receive.poll(30)
    report = receive.recv()
    os.kill(proc.pid, signal.SIGKILL)  # mid-batch: 5 acked, 15 held, no goodbye
    proc.join(10)
    assert proc.exitcode == -signal.SIGKILL
    held = set(report["items"]) - set(report["acked"])
    assert len(report["items"]) == 20 and len(report["acked"]) == 5

    # Checked at explicit times around the (short) lease, so neither sleeps nor a slow machine
    # change the outcome. While the lease runs, the held items stay hidden: another consumer
    # gets only the 20 never claimed.
    during = report["lease_until"] - timedelta(seconds=1)
    others = queue.claim(engine, "survivor", 500, 600, now=during)
    assert {d.item["item_id"] for d in others} == items - set(report["items"])
    # After the lease, the held items come back; the five acked never do.
    after = report["lease_until"] + timedelta(seconds=1)
    back = queue.claim(engine, "survivor", 500, 600, now=after)
    assert {d.item["item_id"] for d in back} == held
    for d in [*others, *back]:
        assert queue.ack(engine, d.delivery_id, now=after, consumer="survivor")
    stats = queue.stats(engine, now=after)
    assert stats["acked"] == 40 and stats["ready"] == stats["leased"] == stats["dead"] == 0
    engine.dispose()


def test_concurrent_duplicate_acks_settle_once(pg_url: str) -> None:
    engine = open_database(pg_url)
    seed_items(engine, 1, now=_now())
    (d,) = queue.claim(engine, "lapor", 1, 600, now=_now())
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def ack() -> None:
        barrier.wait()
        results.append(queue.ack(engine, d.delivery_id, now=_now(), consumer="lapor"))

    threads = [threading.Thread(target=ack) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]
    row = queue.get_item(engine, d.delivery_id)
    assert row["status"] == "acked" and [x["outcome"] for x in row["deliveries"]] == ["acked"]
    engine.dispose()


def test_claim_is_one_statement_with_skip_locked(pg_url: str) -> None:
    """A transaction holding rows does not block a claimer: it skips them."""
    from sqlalchemy import select

    from pipelines.store import schema as s

    engine = open_database(pg_url)
    seed_items(engine, 4, now=_now())
    with engine.connect() as holder:
        with holder.begin():
            locked = holder.execute(select(s.queue_items.c.id).order_by(s.queue_items.c.id).limit(2)
                                    .with_for_update()).scalars().all()
            started = time.perf_counter()
            got = queue.claim(engine, "lapor", 10, 60, now=_now())
            assert time.perf_counter() - started < 5
    assert len(got) == 2 and len(locked) == 2
    engine.dispose()

"""The queue at scale on the PostgreSQL server: consumer *processes* claiming concurrently.

Each consumer is a real OS process (a small script run with this interpreter) using the Python
API; claims rely on `FOR UPDATE SKIP LOCKED`, not on any lock in our process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipelines import queue
from pipelines.store.db import open_database
from tests.pipelines.test_queue_support import seed_items

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]

CONSUMER = r'''
import json, sys, time
from datetime import datetime, timezone
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from sqlalchemy import create_engine
from pipelines import queue

url, name, batch, lease, mode, start = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7]
engine = create_engine(url)
print(json.dumps({"ready": True}), flush=True)
while not Path(start).exists():
    time.sleep(0.01)
now = lambda: datetime.now(timezone.utc)
if mode == "drain":  # claim until empty; ack nothing (everything stays leased)
    while True:
        got = queue.claim(engine, name, batch, lease, now=now())
        if not got:
            break
        print(json.dumps({"items": [d.item["item_id"] for d in got]}), flush=True)
else:  # "die": claim one batch, ack a few, report, then wait to be killed
    got = queue.claim(engine, name, batch, lease, now=now())
    acked = [d.item["item_id"] for d in got[:5] if queue.ack(engine, d.delivery_id, now=now())]
    print(json.dumps({"items": [d.item["item_id"] for d in got], "acked": acked,
                      "lease_until": got[0].lease_until.isoformat()}), flush=True)
    time.sleep(600)
print(json.dumps({"done": True}), flush=True)
'''


def _spawn(tmp_path: Path, url: str, name: str, batch: int, lease: int, mode: str,
           start: Path) -> subprocess.Popen:
    script = tmp_path / "consumer.py"
    script.write_text(CONSUMER)
    return subprocess.Popen(
        [sys.executable, str(script), str(REPO), url, name, str(batch), str(lease), mode, str(start)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})


def _ready(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        assert json.loads(proc.stdout.readline()) == {"ready": True}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def test_consumer_processes_claiming_concurrently_never_share_an_item(pg_url: str, tmp_path: Path) -> None:
    engine = open_database(pg_url)
    items = {i["item_id"] for i in seed_items(engine, 200, now=_now())}
    start = tmp_path / "go"
    procs = [_spawn(tmp_path, pg_url, f"worker-{n}", 9, 600, "drain", start) for n in range(4)]
    _ready(procs)
    start.touch()  # all four claim at once
    claimed: dict[str, list[str]] = {}
    for n, proc in enumerate(procs):
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        lines = [json.loads(line) for line in out.splitlines()]
        assert lines[-1] == {"done": True}
        claimed[f"worker-{n}"] = [i for line in lines[:-1] for i in line["items"]]
    every = [i for got in claimed.values() for i in got]
    assert len(every) == len(set(every)), "an item was delivered twice within its lease"
    assert set(every) == items
    assert sum(1 for got in claimed.values() if got) >= 2, "the claims did not run concurrently"
    stats = queue.stats(engine, now=_now())
    assert stats["leased"] == 200 and stats["ready"] == 0
    engine.dispose()


def test_a_consumer_killed_mid_batch_loses_nothing(pg_url: str, tmp_path: Path) -> None:
    engine = open_database(pg_url)
    items = {i["item_id"] for i in seed_items(engine, 40, now=_now())}
    start = tmp_path / "go"
    start.touch()
    proc = _spawn(tmp_path, pg_url, "doomed", 20, 30, "die", start)
    _ready([proc])
    report = json.loads(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)  # mid-batch: 5 acked, 15 held, no goodbye
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    held = set(report["items"]) - set(report["acked"])
    assert len(report["items"]) == 20 and len(report["acked"]) == 5

    # While the lease runs, the held items stay hidden: others get only the 20 never claimed.
    others = queue.claim(engine, "survivor", 500, 600, now=_now())
    assert {d.item["item_id"] for d in others} == items - set(report["items"])
    # After the lease (checked with an explicit time, not a sleep), the held items come back.
    after = datetime.fromisoformat(report["lease_until"]) + timedelta(seconds=1)
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

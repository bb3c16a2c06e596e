"""Fault drill: stop PostgreSQL in the middle of `pantau worker --drain`, start it again, then run
the worker once more; prints how the first run ended and whether anything was lost.

Needs to control the local server (run as root on a machine where `pg_ctlcluster` manages it):

    python bench/drill_postgres_restart.py [--posts 20000] [--down-seconds 8]

The server is stopped once the worker has written its first batches and is still working (the
drill fails if the worker finished first: nothing would have been tested). The first run must
either recover (it retries with backoff) or fail cleanly with a one-line error; the next run
must complete with every post triaged once and no queue item lost or duplicated.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from pipelines.integrity import check_integrity  # noqa: E402
from pipelines.store.db import open_database  # noqa: E402

ADMIN = os.environ.get("PANTAU_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _cluster(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action], check=True)


def _wait_up(timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            engine = create_engine(ADMIN, connect_args={"connect_timeout": 2})
            with engine.connect():
                engine.dispose()
                return
        except Exception:  # noqa: BLE001 - still starting
            time.sleep(0.5)
    raise SystemExit("PostgreSQL did not come back")


def _wait_for_batches(url: str, worker: subprocess.Popen, *, at_least: int) -> int:
    """Posts triaged so far, once at least `at_least` are (or the worker has exited)."""
    engine = create_engine(url)
    try:
        while True:
            with engine.connect() as conn:
                done = conn.execute(text("SELECT count(*) FROM posts WHERE triage_state = 'done'")).scalar()
            if done >= at_least or worker.poll() is not None:
                return int(done)
            time.sleep(0.2)
    finally:
        engine.dispose()


def main() -> bool:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--down-seconds", type=float, default=8.0)
    args = parser.parse_args()
    from tests.pipelines.test_worker_faults import write_posts

    name = f"pantau_drill_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT", pool_pre_ping=True)  # survives the restart
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN).set(database=name).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "PANTAU_DATABASE_URL": url, "PANTAU_PSEUDONYM_KEY": "drill",
                   "PANTAU_DATA_DIR": tmp}
            source = Path(tmp) / "posts.jsonl"
            write_posts(source, args.posts)
            pantau = [sys.executable, "-m", "pipelines.cli"]
            subprocess.run(pantau + ["import", str(source)], env=env, cwd=REPO, check=True,
                           capture_output=True)
            worker = subprocess.Popen(pantau + ["worker", "--drain", "--batch-size", "200"], env=env,
                                      cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            done_before = _wait_for_batches(url, worker, at_least=1000)
            if worker.poll() is not None:
                print(f"FAIL: the worker finished before the stop ({done_before} posts done): "
                      "nothing was tested; use more --posts")
                return False
            _cluster("stop")
            print(f"PostgreSQL stopped for {args.down_seconds:.0f}s during the run, "
                  f"{done_before} of {args.posts} posts triaged by then")
            time.sleep(args.down_seconds)
            _cluster("start")
            _wait_up()
            out, err = worker.communicate(timeout=600)
            last = (err.strip().splitlines() or [""])[-1]
            print(f"first run: exit {worker.returncode}: {out.strip() or last}")
            second = subprocess.run(pantau + ["worker", "--drain"], env=env, cwd=REPO,
                                    capture_output=True, text=True)
            print(f"next run: exit {second.returncode}: {second.stdout.strip()}")
            engine = open_database(url)
            report = check_integrity(engine)
            engine.dispose()
            print(f"posts {report.posts}, pending {report.pending}, lost queue items "
                  f"{report.qualified_cases_without_item}, duplicates {report.duplicate_items}")
            ok = report.ok and second.returncode == 0 and (worker.returncode == 0 or "error" in last)
            print("PASS" if ok else "FAIL")
            return ok
    finally:
        _wait_up()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(0 if main() else 1)

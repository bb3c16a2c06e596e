"""Workers: SIGKILLed mid-batch and restarted, or several at once on PostgreSQL; afterwards
every post is triaged once and no queue item is lost or duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.integrity import check_integrity
from pipelines.store.db import open_database

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "pipelines" / "resources" / "sample_posts.jsonl"
PANTAU = [sys.executable, "-m", "pipelines.cli"]


def write_posts(path: Path, n: int) -> None:
    """The bundled sample repeated with fresh ids (cases, qualification, revisions all happen)."""
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    with path.open("w") as handle:
        for i in range(n):
            row = dict(rows[i % len(rows)])
            row["post_id"] = f"{row['post_id']}{i // len(rows):04d}"
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _env(url: str, tmp: Path) -> dict:
    return {**os.environ, "PANTAU_DATABASE_URL": url, "PANTAU_PSEUDONYM_KEY": "k",
            "PANTAU_DATA_DIR": str(tmp)}


def _integrity(url: str):  # noqa: ANN202
    engine = open_database(url)
    try:
        return check_integrity(engine)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_killed_workers_lose_and_duplicate_nothing(db_url: str, tmp_path: Path, classifier) -> None:  # noqa: ANN001
    env = _env(db_url, tmp_path)
    source = tmp_path / "posts.jsonl"
    write_posts(source, 1500)
    subprocess.run(PANTAU + ["import", str(source)], env=env, cwd=REPO, check=True, capture_output=True)
    for delay in (1.5, 3.0, 4.5):
        proc = subprocess.Popen(PANTAU + ["worker", "--drain", "--batch-size", "100"], env=env, cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = subprocess.run(PANTAU + ["worker", "--drain"], env=env, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = _integrity(db_url)
    assert report.posts == 1500 and report.ok, report


@pytest.mark.postgres
def test_two_workers_share_postgres_without_overlap(pg_url: str, tmp_path: Path, classifier) -> None:  # noqa: ANN001
    env = _env(pg_url, tmp_path)
    source = tmp_path / "posts.jsonl"
    write_posts(source, 1200)
    subprocess.run(PANTAU + ["import", str(source)], env=env, cwd=REPO, check=True, capture_output=True)
    procs = [subprocess.Popen(PANTAU + ["worker", "--drain", "--batch-size", "100"], env=env, cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), outputs
    triaged = [int(out.split("drained: ")[1].split()[0]) for out, _ in outputs]
    assert sum(triaged) == 1200 and min(triaged) > 0  # both did work, none twice
    assert _integrity(pg_url).ok


class _BrokenClassifier:
    """A classifier whose model blows up mid-batch (e.g. out of memory)."""

    versions = {"kind": "kind/broken"}

    def predict(self, texts):  # noqa: ANN001, ANN201
        raise MemoryError("model crashed")


def test_a_failed_batch_is_given_back_at_once(app_ctx) -> None:  # noqa: ANN001
    from sqlalchemy import select

    from pipelines.run import import_file
    from pipelines.store import schema as s
    from pipelines.triage_stage import TriageStage
    from triage.qualify import Policies

    import_file(app_ctx, REPO / "tests" / "fixtures" / "files" / "twarc2_search.jsonl", "twarc2")
    stage = TriageStage(app_ctx.engine, _BrokenClassifier(), app_ctx.registry, Policies(),
                        clock=app_ctx.clock)
    with pytest.raises(MemoryError):
        stage.run_batch()
    with app_ctx.engine.connect() as conn:
        leases = conn.execute(select(s.posts.c.triage_lease_until, s.posts.c.triage_state)).all()
    assert leases and all(until is None and state == "pending" for until, state in leases)
    assert len(stage.claim(app_ctx.clock())) == 3  # claimable again right away


def test_a_batch_whose_leases_could_not_be_given_back_is_taken_again(app_ctx) -> None:  # noqa: ANN001
    """The PostgreSQL restart drill: the batch in flight failed, giving its leases back failed
    too (the server was down), and `worker --drain` then finished with those posts still
    pending under its own lease."""
    from sqlalchemy import event

    from pipelines.run import import_file
    from pipelines.triage_stage import TriageStage
    from triage.qualify import Policies

    import_file(app_ctx, REPO / "tests" / "fixtures" / "files" / "twarc2_search.jsonl", "twarc2")

    def server_gone(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        if statement.lstrip().upper().startswith("UPDATE POSTS"):
            raise ConnectionError("server closed the connection unexpectedly")

    class _DownMidBatch(_BrokenClassifier):
        def predict(self, texts):  # noqa: ANN001, ANN201 - the server goes down after the claim
            event.listen(app_ctx.engine, "before_cursor_execute", server_gone)
            return super().predict(texts)

    stage = TriageStage(app_ctx.engine, _DownMidBatch(), app_ctx.registry, Policies(), clock=app_ctx.clock)
    try:
        with pytest.raises(MemoryError):
            stage.run_batch()
    finally:
        event.remove(app_ctx.engine, "before_cursor_execute", server_gone)
    now = app_ctx.clock()
    other = TriageStage(app_ctx.engine, _BrokenClassifier(), app_ctx.registry, Policies(),
                        clock=app_ctx.clock)
    assert other.claim(now) == []  # still leased: nobody else may take them before expiry
    assert len(stage.claim(now)) == 3  # the worker that failed them takes them again
    assert stage.claim(now) == []


def test_a_dead_local_workers_leases_are_taken_over_at_the_first_claim(app_ctx) -> None:  # noqa: ANN001
    import socket

    from sqlalchemy import update

    from pipelines.run import import_file
    from pipelines.store import schema as s
    from pipelines.triage_stage import TriageStage
    from triage.qualify import Policies

    import_file(app_ctx, REPO / "tests" / "fixtures" / "files" / "twarc2_search.jsonl", "twarc2")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    far = app_ctx.clock().replace(year=2100)

    def lease_to(owner: str) -> None:
        with app_ctx.engine.begin() as conn:
            conn.execute(update(s.posts).values(triage_lease_owner=owner, triage_lease_until=far))

    lease_to(f"{socket.gethostname()}:{gone}")  # a worker of this host that was killed
    stage = TriageStage(app_ctx.engine, _BrokenClassifier(), app_ctx.registry, Policies(),
                        clock=app_ctx.clock)
    assert len(stage.claim(app_ctx.clock())) == 3
    lease_to(f"another-host:{gone}")  # its lease runs out by time, not by a local check
    assert stage.claim(app_ctx.clock()) == []

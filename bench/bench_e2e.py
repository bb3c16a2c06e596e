"""End-to-end throughput: import -> redact -> triage -> qualify -> enqueue on real text.

Reads every post of ../shared/data/real/*.jsonl at run time (about 77,000; never copied into
the repository), writes them as our JSONL in a temp folder, then runs the real commands
(`pantau import`, `pantau worker --drain`) as subprocesses into a fresh database and prints
posts/s and peak memory (RSS of the biggest process), for:

  sqlite      import, then one worker
  sqlite-2    import, then two workers (one node, one SQLite file)
  live        SQLite, import and one worker at the same time, as in production (the worker
              triages pages as the import commits them; timed until nothing is pending)
  live-2      the same with two workers
  pg-1        PostgreSQL, import, then one worker
  pg-2        PostgreSQL, import, then two workers sharing the database (SKIP LOCKED)

and the cost per post at 10,000 posts against all posts (it must not grow). The 10,000 are a
seeded random sample of all posts, in their file order: the files differ (the first 10,000 hold
no Reddit post and texts 15% shorter than the rest), so the first 10,000 would compare other
texts, not another volume. Their mean length is printed beside each size.

    python bench/bench_e2e.py [--modes sqlite,pg-1,pg-2] [--limit N] [--profile]

--profile runs the sqlite mode in-process under cProfile and prints where the time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

REAL = REPO.parent / "shared" / "data" / "real"
PG_ADMIN = os.environ.get("PANTAU_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PLATFORM = {"twitter": "x", "reddit": "reddit", "playstore": "file"}


def real_posts(limit: int | None) -> list[dict]:
    """Real rows as our JSONL posts (id, text, created_at, counts as one snapshot)."""
    posts: list[dict] = []
    for path in sorted(REAL.glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                created = row.get("created_at") or "2025-01-01T00:00:00Z"
                if len(created) == 10:
                    created += "T00:00:00Z"
                posts.append({
                    "platform": PLATFORM.get(row.get("source"), "file"),
                    "post_id": row["id"].replace(":", "-"),
                    "text": row["text"],
                    "created_at": created,
                    "author_handle": row.get("author_username"),
                    # no snapshots: the datasets' counts were read at an unknown time
                })
                if limit and len(posts) >= limit:
                    return posts
    return posts


def _run(cmd: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _pg_database() -> tuple[str, str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"pantau_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def _drop_pg(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def run_mode(mode: str, source: Path, n: int, workdir: Path) -> dict:
    env = {**os.environ, "PANTAU_PSEUDONYM_KEY": "bench-key", "PANTAU_DATA_DIR": str(workdir / mode)}
    pg_name = None
    if mode.startswith(("sqlite", "live")):
        env["PANTAU_DATABASE_URL"] = f"sqlite:///{workdir / mode / 'pantau.db'}"
    else:
        pg_name, env["PANTAU_DATABASE_URL"] = _pg_database()
    pantau = [sys.executable, "-m", "pipelines.cli"]
    try:
        if mode.startswith("live"):
            return _run_live(pantau, source, n, env, workers=2 if mode.endswith("-2") else 1) | {"mode": mode}
        t_import = _run(pantau + ["import", str(source), "--format", "jsonl"], env)
        workers = 2 if mode.endswith("-2") else 1
        started = time.perf_counter()
        procs = [subprocess.Popen(pantau + ["worker", "--drain"], cwd=REPO, env=env,
                                  stdout=subprocess.DEVNULL) for _ in range(workers)]
        for proc in procs:
            if proc.wait() != 0:
                raise SystemExit(f"worker failed in mode {mode}")
        t_triage = time.perf_counter() - started
    finally:
        if pg_name:
            _drop_pg(pg_name)
    total = t_import + t_triage
    return {"mode": mode, "posts": n, "import_s": round(t_import, 1), "triage_s": round(t_triage, 1),
            "posts_per_s": round(n / total), "us_per_post": round(total / n * 1e6)}


def _count(url: str, sql: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


PENDING = "SELECT count(*) FROM posts WHERE triage_state = 'pending'"


def _run_live(pantau: list[str], source: Path, n: int, env: dict, workers: int) -> dict:
    """Import and waiting workers at the same time; done when the import has exited and no
    post is pending. The workers then get SIGTERM (each finishes its batch and exits)."""
    started = time.perf_counter()
    procs = [subprocess.Popen(pantau + ["worker", "--poll-seconds", "0.2"], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
    try:
        subprocess.run(pantau + ["import", str(source), "--format", "jsonl"], cwd=REPO, env=env,
                       check=True, stdout=subprocess.DEVNULL)
        t_import = time.perf_counter() - started
        while _count(env["PANTAU_DATABASE_URL"], PENDING):
            if any(proc.poll() is not None for proc in procs):
                raise SystemExit("a worker died in mode live")
            time.sleep(0.1)
        total = time.perf_counter() - started
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait()
    triaged = _count(env["PANTAU_DATABASE_URL"], "SELECT count(*) FROM triage_results")
    if triaged != n:
        raise SystemExit(f"live: {triaged} posts triaged, expected {n}")
    return {"posts": n, "import_s": round(t_import, 1), "triage_s": round(total - t_import, 1),
            "posts_per_s": round(n / total), "us_per_post": round(total / n * 1e6)}


def profile(source: Path, workdir: Path) -> None:
    import cProfile
    import pstats

    from pipelines.context import AppContext
    from pipelines.run import import_file, triage_pending
    from pipelines.settings import load_settings

    settings = load_settings({"database_url": f"sqlite:///{workdir / 'profile.db'}",
                              "pseudonym_key": "bench-key", "data_dir": str(workdir)}, env={})
    ctx = AppContext(settings)
    profiler = cProfile.Profile()
    profiler.enable()
    import_file(ctx, source, "jsonl")
    triage_pending(ctx)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="sqlite,sqlite-2,live,live-2,pg-1,pg-2")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N posts")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if not REAL.exists():
        raise SystemExit(f"no real data at {REAL}: this benchmark reads it at run time")
    posts = real_posts(args.limit)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sizes = sorted({min(10_000, len(posts)), len(posts)})
        sources = {}
        for size in sizes:
            picked = sorted(random.Random(0).sample(range(len(posts)), size))
            sources[size] = workdir / f"posts_{size}.jsonl"
            with sources[size].open("w") as handle:
                for i in picked:
                    handle.write(json.dumps(posts[i], ensure_ascii=False) + "\n")
            chars = sum(len(posts[i]["text"]) for i in picked) / size
            print(f"{size:,} posts: mean text length {chars:.0f} characters")
        if args.profile:
            profile(sources[sizes[0]], workdir)
            return
        print(f"{'mode':<8}{'posts':>8}{'import s':>10}{'triage s':>10}{'posts/s':>9}{'us/post':>9}")
        for mode in args.modes.split(","):
            for size in sizes:
                result = run_mode(mode, sources[size], size, workdir / f"{mode}-{size}")
                print(f"{result['mode']:<8}{result['posts']:>8}{result['import_s']:>10}"
                      f"{result['triage_s']:>10}{result['posts_per_s']:>9}{result['us_per_post']:>9}")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak memory (largest child process RSS): {peak:.0f} MB")


if __name__ == "__main__":
    main()

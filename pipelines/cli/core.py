"""Core commands: demo, import, run, worker, status, db."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from collectors.files import FORMATS
from pipelines.context import AppContext, context_from_args
from pipelines.settings import RESOURCES

DEMO_SAMPLE = RESOURCES / "sample_posts.jsonl"
# The demo's clock: the moment the bundled sample was "collected", so every run gives the same
# scores and the same database.
DEMO_NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="import the bundled sample posts, triage them, show the queue",
                       description="Run the whole pipeline on the bundled sample posts and SQLite. "
                       "No account, server or network needed. Safe to run twice.")
    p.add_argument("--top", type=int, default=8, help="how many top items to show (default 8)")
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("import", help="import posts from a file (JSONL, twarc2, tweet-harvest CSV)",
                       description="Import a file into the store. Malformed rows are reported with "
                       "their line number and skipped. Importing the same file twice adds no duplicate.")
    p.add_argument("file", type=Path, help="file to import")
    p.add_argument("--format", choices=FORMATS, help="input format (default: detect)")
    p.add_argument("--triage", action="store_true", help="triage the imported posts right away")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("run", help="collect the configured sources and triage what is new",
                       description="One full cycle: collect every configured source, then triage "
                       "pending posts and enqueue the qualifying ones.")
    p.add_argument("--once", action="store_true", required=True, help="run one cycle and exit")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("worker", help="triage pending posts (several workers may share PostgreSQL)",
                       description="Claim untriaged posts in batches, triage them and enqueue the "
                       "qualifying ones. Without --drain, waits for new work.")
    p.add_argument("--drain", action="store_true", help="process all pending work, then exit")
    p.add_argument("--batch-size", type=int, default=500, help="posts per claimed batch")
    p.add_argument("--poll-seconds", type=float, default=5.0, help="wait between empty polls")
    p.set_defaults(handler=cmd_worker)

    p = sub.add_parser("status", help="counts per table and stage, last runs",
                       description="Show counts per table and per stage, the queue and the last "
                       "run of each source.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("db", help="database maintenance", description="Database maintenance.")
    dbsub = p.add_subparsers(dest="db_command", metavar="ACTION")
    up = dbsub.add_parser("upgrade", help="apply pending schema migrations",
                          description="Apply pending schema migrations (also done on start).")
    up.set_defaults(handler=cmd_db_upgrade)


def _print_err(message: str) -> None:
    print(message, file=sys.stderr)


def _report_import(report: Any) -> None:
    for error in report.errors[:50]:
        _print_err(f"line {error.line}: {error.message} (skipped)")
    if len(report.errors) > 50:
        _print_err(f"... and {len(report.errors) - 50} more rows skipped")


def cmd_import(args: Any) -> int:
    from pipelines.run import import_file, triage_pending

    ctx = context_from_args(args)
    report = import_file(ctx, args.file, args.format)
    _report_import(report)
    print(f"imported {args.file.name}: {report.posts_seen} posts read, {report.posts_new} new, "
          f"{report.snapshots_new} new metric snapshots, {len(report.errors)} rows skipped")
    if args.triage:
        stage = triage_pending(ctx)
        print(f"triaged {stage.triaged} posts, {stage.enqueued} queue items")
    return 0


def cmd_run(args: Any) -> int:
    from pipelines.collect import collect_once
    from pipelines.run import triage_pending

    ctx = context_from_args(args)
    for result in collect_once(ctx):
        print(f"{result.source}: {result.status}, {result.posts_new} new posts"
              + (f" ({result.message})" if result.message else ""))
    stage = triage_pending(ctx)
    print(f"triage: {stage.triaged} posts triaged, {stage.qualified} qualified, "
          f"{stage.enqueued} queue items enqueued")
    return 0


def cmd_worker(args: Any) -> int:
    from pipelines.run import triage_stage
    from pipelines.worker import run_worker

    ctx = context_from_args(args)
    stage = triage_stage(ctx, batch_size=args.batch_size)  # models load once per process
    report = run_worker(stage, drain=args.drain, poll_seconds=args.poll_seconds, sleep=time.sleep)
    print(f"worker drained: {report.triaged} posts triaged, {report.enqueued} queue items, "
          f"{report.seconds:.1f}s")
    return 0


def cmd_status(args: Any) -> int:
    from pipelines.run import status
    from pipelines.schedule import source_status
    from pipelines.spikes import recent_spikes

    ctx = context_from_args(args)
    result = status(ctx)
    sources = source_status(ctx)
    with ctx.engine.connect() as conn:
        spikes = recent_spikes(conn, ctx.clock())
    if args.json:
        print(json.dumps({**result.to_dict(), "sources": [st.to_dict() for st in sources],
                          "spikes": spikes}, indent=2))
        return 0
    print(f"database: {result.database}")
    print("tables:  " + ", ".join(f"{k} {v}" for k, v in result.tables.items()))
    print("stages:  " + ", ".join(f"{k} {v}" for k, v in sorted(result.stages.items())))
    print("queue:   " + ", ".join(f"{k} {v}" for k, v in result.queue.items()))
    for spike in spikes:
        print(f"spike: {spike['agency_id']} {spike['hour']}:00 WIB, {spike['count']} posts "
              f"(usual {spike['usual']}/hour, z {spike['z']})")
    for st in sources:
        print(st.line())
    scheduled = {st.source for st in sources}
    for run in result.last_runs:  # imports and other one-off sources
        if run["source"] not in scheduled:
            print(f"{run['source']}: last run {run['started_at'][:16].replace('T', ' ')} {run['status']}, "
                  f"{run['posts_fetched']} posts fetched ({run['posts_new']} new)")
    return 0


def cmd_db_upgrade(args: Any) -> int:
    from pipelines.store.db import create_db_engine, current_revision, upgrade

    ctx = context_from_args(args)
    engine = create_db_engine(ctx.settings.resolved_database_url)
    upgrade(engine)
    print(f"database at revision {current_revision(engine)}")
    return 0


def cmd_demo(args: Any) -> int:
    from pipelines.run import import_file, triage_pending
    from triage.taxonomy import display

    ctx: AppContext = context_from_args(args)
    ctx.clock = lambda: DEMO_NOW
    print(f"Pantau demo: importing the bundled sample ({DEMO_SAMPLE.name}) into "
          f"{ctx.settings.resolved_database_url}")
    report = import_file(ctx, DEMO_SAMPLE, "jsonl", demo=True)
    _report_import(report)
    print(f"  {report.posts_seen} posts read, {report.posts_new} new "
          f"({report.posts_seen - report.posts_new} already stored), "
          f"{report.snapshots_new} new metric snapshots")
    stage = triage_pending(ctx, now=DEMO_NOW)
    print(f"  triaged {stage.triaged} posts, {stage.qualified} qualified, "
          f"{stage.enqueued} queue items enqueued, {stage.cases_new} new cases")

    from sqlalchemy import func, select

    from pipelines.store import schema as s

    tr = s.triage_results
    with ctx.engine.connect() as conn:
        kinds = conn.execute(select(tr.c.kind, func.count()).group_by(tr.c.kind)
                             .order_by(func.count().desc())).all()
        substances = conn.execute(select(tr.c.substance, func.count()).group_by(tr.c.substance)
                                  .order_by(func.count().desc())).all()
        top = conn.execute(select(s.queue_items.c.payload).where(
            s.queue_items.c.status.in_(("ready", "leased")))
            .order_by(s.queue_items.c.priority_score.desc()).limit(args.top)).scalars().all()
        queued = conn.execute(select(func.count()).select_from(s.queue_items)).scalar_one()
    print("\nPosts by kind:      " + ", ".join(f"{display(k)} {n}" for k, n in kinds))
    print("Posts by substance: " + ", ".join(f"{display(k)} {n}" for k, n in substances))
    print(f"\nTop {len(top)} of {queued} queue items by priority (redacted):")
    for item in top:
        t = item["triage"]
        text = " ".join(item["post"]["text"].split())
        agency = t["agency"]["name"] if t["agency"] else "-"
        print(f"  [{t['priority']['tier']}] {t['priority']['score']:.2f} {agency} | "
              f"{t['substance']['label']} / {t['maladministration']['label']} | "
              f"viral {t['virality']['score']:.0f}")
        print(f"       {text[:160]}{'...' if len(text) > 160 else ''}")
        print(f"       alasan: {'; '.join(t['priority']['reasons'])}")
    print(f"\nDatabase: {ctx.settings.resolved_database_url}")
    print("Next: `.venv/bin/pantau status`, `.venv/bin/pantau queue list`, "
          "`.venv/bin/pantau users add NAME --role peninjau` then `.venv/bin/pantau serve` "
          "and open http://127.0.0.1:8000")
    return 0

"""Collection commands: collect one source once, run the scheduler, show the sources' state."""

from __future__ import annotations

import json
from typing import Any

from pipelines.context import context_from_args
from triage.errors import PantauError

SOURCES = ("x", "reddit", "file")


def register(sub: Any) -> None:
    p = sub.add_parser("collect", help="collect one source once (x, reddit, file)",
                       description="Collect one source once: fetch new pages, store them with their "
                       "provenance and move the checkpoints. Posts are left for `pantau worker` to "
                       "triage. With --metrics, re-read the counts of young posts instead.")
    p.add_argument("source", choices=SOURCES, help="the source to collect")
    p.add_argument("--once", action="store_true", required=True, help="run once and exit")
    p.add_argument("--metrics", action="store_true",
                   help="refresh engagement counts of posts younger than 48 h (x, reddit)")
    p.set_defaults(handler=cmd_collect)

    p = sub.add_parser("schedule", help="run the collection scheduler (one process)",
                       description="Run every configured source, the metric refresh and maintenance "
                       "jobs on their intervals until SIGTERM or Ctrl-C; the pages in flight are "
                       "stored before exiting. Collection only: triage runs in `pantau worker`.")
    p.add_argument("--max-workers", type=int, default=4, help="jobs that may run at once (default 4)")
    p.set_defaults(handler=cmd_schedule)

    p = sub.add_parser("sources", help="state of each collection job",
                       description="Per source and refresh job: configured or not, last run and its "
                       "result, posts fetched, next run, rate limit in force and quota used.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_sources)


def cmd_collect(args: Any) -> int:
    from pipelines.collect import SOURCE_RUNNERS
    from pipelines.schedule import REFRESH_RUNNERS

    ctx = context_from_args(args)
    if args.metrics and args.source not in REFRESH_RUNNERS:
        raise PantauError(f"--metrics applies to {', '.join(REFRESH_RUNNERS)} only")
    runner = REFRESH_RUNNERS[args.source] if args.metrics else SOURCE_RUNNERS[args.source]
    results = runner(ctx)
    for result in results:
        print(f"{result.source}: {result.status}, {result.posts_new} new posts"
              + (f" ({result.message})" if result.message else ""))
    bad = {"error", "auth_error"}
    return 1 if any(r.status in bad for r in results) else 0


def cmd_schedule(args: Any) -> int:
    from pipelines.schedule import CollectionScheduler

    ctx = context_from_args(args)
    scheduler = CollectionScheduler(ctx, max_workers=max(1, args.max_workers))
    scheduler.run_forever()
    return 0


def cmd_sources(args: Any) -> int:
    from pipelines.schedule import source_status

    ctx = context_from_args(args)
    statuses = source_status(ctx)
    if args.json:
        print(json.dumps([st.to_dict() for st in statuses], indent=2))
        return 0
    for st in statuses:
        print(st.line())
    return 0

"""Orchestration: import files, run the triage stage, record runs, report status.

The functions here are what the CLI, the scheduler and the worker call; they take an
`AppContext` and return plain reports.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, func, insert, select, update

from collectors import files
from pipelines.context import AppContext
from pipelines.ingest import Ingestor, IngestReport
from pipelines.store import schema as s

if TYPE_CHECKING:  # the triage stage pulls in scikit-learn: only workers need it
    from pipelines.triage_stage import StageReport, TriageStage

log = logging.getLogger(__name__)

DEMO_PSEUDONYM_KEY = b"pantau-demo-key-not-secret"  # only `pantau demo` may fall back to it


def ingestor(ctx: AppContext, *, demo: bool = False) -> Ingestor:
    demo_key = demo and not ctx.settings.pseudonym_key
    key = DEMO_PSEUDONYM_KEY if demo_key else ctx.settings.require_pseudonym_key()
    return Ingestor(ctx.engine, pseudonym_key=key, protected_handles=ctx.registry.handles,
                    clock=ctx.clock)


def start_run(engine: Engine, source: str, now: datetime) -> int:
    with engine.begin() as conn:
        return conn.execute(insert(s.collector_runs).values(
            source=source, started_at=now, status="running")).inserted_primary_key[0]


def finish_run(engine: Engine, run_id: int, now: datetime, *, status: str, pages: int = 0,
               posts_fetched: int = 0, posts_new: int = 0, message: str | None = None,
               rate_limited_until: datetime | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(update(s.collector_runs).where(s.collector_runs.c.id == run_id).values(
            finished_at=now, status=status, pages=pages, posts_fetched=posts_fetched,
            posts_new=posts_new, message=message, rate_limited_until=rate_limited_until))


def import_file(ctx: AppContext, path: Path, fmt: str | None, *, demo: bool = False) -> IngestReport:
    """Import a file page by page (each page its own transaction) and record the run."""
    now = ctx.clock()
    pages = files.read_pages(Path(path), fmt, now)  # validates path and format before the run row
    writer = ingestor(ctx, demo=demo)
    run_id = start_run(ctx.engine, files.NAME, now)
    report = IngestReport()
    try:
        for page in pages:
            report.add(writer.store_page(page))
    except BaseException as exc:
        finish_run(ctx.engine, run_id, ctx.clock(), status="error", pages=report.pages,
                   posts_fetched=report.posts_seen, posts_new=report.posts_new,
                   message=f"{type(exc).__name__} after {report.pages} pages")
        raise
    status = "partial" if report.errors else "ok"
    finish_run(ctx.engine, run_id, ctx.clock(), status=status, pages=report.pages,
               posts_fetched=report.posts_seen, posts_new=report.posts_new,
               message=f"{Path(path).name}: {len(report.errors)} rows skipped")
    return report


def triage_stage(ctx: AppContext, *, batch_size: int = 500) -> TriageStage:
    """A triage stage with the production models, loaded once."""
    from pipelines.models import load_classifier, load_forecaster
    from pipelines.triage_stage import TriageStage
    from triage.priority import DEFAULT_SEVERITY
    from triage.qualify import parse_policies

    queue_section = ctx.settings.section("queue")
    policies = parse_policies(queue_section.get("policy", {}))
    severity = {**DEFAULT_SEVERITY, **ctx.settings.section("priority").get("severity", {})}
    return TriageStage(ctx.engine, load_classifier(ctx.settings.models_dir), ctx.registry,
                       policies, clock=ctx.clock, severity=severity, batch_size=batch_size,
                       forecaster=load_forecaster(ctx.settings.models_dir))


def triage_pending(ctx: AppContext, *, now: datetime | None = None) -> StageReport:
    return triage_stage(ctx).drain(now)


@dataclass(frozen=True)
class Status:
    database: str
    tables: dict[str, int]
    stages: dict[str, int]
    queue: dict[str, int]
    last_runs: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"database": self.database, "tables": self.tables, "stages": self.stages,
                "queue": self.queue, "last_runs": self.last_runs}


def status(ctx: AppContext) -> Status:
    from pipelines.queue import stats

    engine = ctx.engine
    tables = {}
    with engine.connect() as conn:
        for table in (s.raw_pages, s.posts, s.metric_snapshots, s.checkpoints, s.triage_results,
                      s.cases, s.queue_items, s.reviews, s.users, s.audit_log, s.collector_runs):
            tables[table.name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
        stages = dict(conn.execute(select(s.posts.c.triage_state, func.count())
                                   .group_by(s.posts.c.triage_state)).all())
        stages["qualified"] = conn.execute(select(func.count()).where(
            s.triage_results.c.qualified.is_(True))).scalar_one()
        runs = []
        newest = (select(s.collector_runs.c.source, func.max(s.collector_runs.c.id).label("id"))
                  .group_by(s.collector_runs.c.source).subquery())
        for row in conn.execute(select(s.collector_runs).join(newest, newest.c.id == s.collector_runs.c.id)
                                .order_by(s.collector_runs.c.source)):
            runs.append({
                "source": row.source, "started_at": row.started_at.isoformat(),
                "finished_at": row.finished_at.isoformat() if row.finished_at else None,
                "status": row.status, "pages": row.pages, "posts_fetched": row.posts_fetched,
                "posts_new": row.posts_new, "message": row.message,
                "rate_limited_until": row.rate_limited_until.isoformat() if row.rate_limited_until else None,
            })
    return Status(engine.url.render_as_string(hide_password=True), tables,
                  {k: int(v) for k, v in stages.items()}, stats(engine, now=ctx.clock()), runs)

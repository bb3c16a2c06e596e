"""When to collect: metric-refresh policy, the refresh runs, the scheduler process, source status.

One APScheduler 3.x process (`pantau schedule`) runs a job per configured source, the metric
refresh jobs and the maintenance hooks. It only collects: triage runs in workers
(`pantau worker`), so a slow classifier never delays collection. Jobs coalesce, never overlap
(max_instances=1) and tolerate late starts (misfire grace). A job that hits a rate limit is
moved to the time the platform gave; one that hits an auth error is paused until restart; a
failing job is logged and never stops the scheduler. SIGTERM/SIGINT set a stop flag that
collectors check between pages: the page in flight is stored, then the process exits.

Each job's next run is written to `checkpoints` (source "schedule") so `pantau sources`, run
from another process, can show it.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, and_, func, select

from collectors.base import CollectorError
from pipelines import checkpoints
from pipelines.collect import (
    REDDIT_DEFAULTS,
    REDDIT_NOT_CONFIGURED,
    X_DEFAULTS,
    X_NOT_CONFIGURED,
    SourceResult,
    SourceRun,
    _never,
    comments_wanted,
    execute,
    reddit_budget,
    reddit_collector,
    reddit_configured,
    run_reddit,
    run_x,
    source_config,
    x_budget,
    x_collector,
    x_configured,
)
from pipelines.context import AppContext
from pipelines.store import schema as s

log = logging.getLogger(__name__)

# Dense while young: a post's counts are re-read when its age crosses each of these.
REFRESH_AGES: tuple[timedelta, ...] = (
    timedelta(minutes=5), timedelta(minutes=15), timedelta(minutes=30),
    *(timedelta(hours=h) for h in range(1, 49)),
)
REFRESH_HORIZON = REFRESH_AGES[-1]
REFRESH_GRACE = timedelta(hours=1)  # a post just past 48 h still gets its last refresh

SCHEDULE_SOURCE = "schedule"  # checkpoints.source of the persisted next run times
FILE_INTERVAL = timedelta(minutes=15)  # configured [[sources.file]] are re-read this often


def refresh_due(created_at: datetime, last_snapshot_at: datetime | None, now: datetime) -> bool:
    """Whether a post's counts should be re-read now.

    Due when its age has crossed a mark of REFRESH_AGES (5, 15, 30, 60 min, then hourly to 48 h)
    after which no snapshot was taken yet. Past 48 h (plus a grace hour), never.
    """
    age = now - created_at
    if age > REFRESH_HORIZON + REFRESH_GRACE:
        return False
    crossed = [mark for mark in REFRESH_AGES if mark <= age]
    if not crossed:
        return False
    return last_snapshot_at is None or last_snapshot_at < created_at + crossed[-1]


@dataclass(frozen=True)
class DuePost:
    post_id: str
    created_at: datetime
    last_snapshot_at: datetime | None
    replies: int | None  # comment count at the last snapshot (Reddit submissions)


def due_posts(engine: Engine, platform: str, now: datetime, *, limit: int,
              submissions_only: bool = False) -> list[DuePost]:
    """Posts of `platform` whose refresh is due, youngest first, at most `limit`."""
    p, m = s.posts, s.metric_snapshots
    last = (select(m.c.post_pk, func.max(m.c.at).label("last_at")).group_by(m.c.post_pk).subquery())
    query = (select(p.c.post_id, p.c.created_at, last.c.last_at, m.c.replies)
             .select_from(p.outerjoin(last, last.c.post_pk == p.c.id)
                          .outerjoin(m, and_(m.c.post_pk == p.c.id, m.c.at == last.c.last_at)))
             .where(p.c.platform == platform, p.c.created_at >= now - REFRESH_HORIZON - REFRESH_GRACE)
             .order_by(p.c.created_at.desc()))
    if submissions_only:
        query = query.where(p.c.conversation_id == p.c.post_id)
    out: list[DuePost] = []
    with engine.connect() as conn:
        for row in conn.execute(query):
            if refresh_due(row.created_at, row.last_at, now):
                out.append(DuePost(row.post_id, row.created_at, row.last_at, row.replies))
                if len(out) >= limit:
                    break
    return out


def refresh_x(ctx: AppContext, *, sleep: Callable[[float], None] = time.sleep,
              should_stop: Callable[[], bool] = _never) -> list[SourceResult]:
    """Re-read the counts of young X posts (tweet lookup, 100 ids per request) as snapshots."""
    cfg = source_config(ctx.settings, "x", X_DEFAULTS)
    if not cfg["enabled"]:
        return [SourceResult("x-metrics", "disabled")]
    if not x_configured(ctx.settings):
        return [SourceResult("x-metrics", "not_configured", message=X_NOT_CONFIGURED)]
    due = due_posts(ctx.engine, "x", ctx.clock(), limit=cfg["refresh_max_posts"])
    if not due:
        return [SourceResult("x-metrics", "ok", message="no posts due")]
    budget = x_budget(ctx, cfg)
    collector = x_collector(ctx, cfg, sleep)

    def body(run: SourceRun) -> None:
        ids = [d.post_id for d in due]
        try:
            for fetched in collector.lookup(ids, remaining=lambda: budget.remaining("lookup")):
                run.store(fetched, budget_kind="lookup")
                if run.stop_requested():
                    break
        finally:  # unreadable answers X counted all the same
            run.bill(collector.take_unbilled(), "lookup")

    return [execute(ctx, "x-metrics", body, budget=budget, should_stop=should_stop)]


def refresh_reddit(ctx: AppContext, *, sleep: Callable[[float], None] = time.sleep,
                   should_stop: Callable[[], bool] = _never) -> list[SourceResult]:
    """Re-read score and comment count of young submissions; fetch comments that arrived since."""
    from collectors.reddit import fullname

    cfg = source_config(ctx.settings, "reddit", REDDIT_DEFAULTS)
    if not cfg["enabled"]:
        return [SourceResult("reddit-metrics", "disabled")]
    if not reddit_configured(ctx.settings):
        return [SourceResult("reddit-metrics", "not_configured", message=REDDIT_NOT_CONFIGURED)]
    due = due_posts(ctx.engine, "reddit", ctx.clock(), limit=cfg["refresh_max_posts"], submissions_only=True)
    if not due:
        return [SourceResult("reddit-metrics", "ok", message="no posts due")]
    budget = reddit_budget(ctx, cfg)
    collector = reddit_collector(ctx, cfg, sleep)

    def body(run: SourceRun) -> None:
        fetches = 0
        for fetched in collector.info([fullname(d.post_id) for d in due], remaining=budget.remaining):
            wanted = (comments_wanted(ctx, fetched.page.posts, cfg["min_agency_score"])
                      if cfg["comments"] else [])
            run.store(fetched)
            for submission_id in wanted:
                if fetches >= cfg["refresh_max_comment_fetches"] or run.stop_requested():
                    break
                run.store(collector.comments(submission_id, query=None, remaining=budget.remaining,
                                             limit=cfg["comment_limit"]))
                fetches += 1
            if run.stop_requested():
                break

    return [execute(ctx, "reddit-metrics", body, budget=budget, should_stop=should_stop)]


REFRESH_RUNNERS: dict[str, Callable[..., list[SourceResult]]] = {"x": refresh_x, "reddit": refresh_reddit}


# -- the scheduler ---------------------------------------------------------------------------


@dataclass(frozen=True)
class JobSpec:
    job_id: str  # also the collector_runs.source it records ("x", "x-metrics", ...)
    runner: Callable[..., Any]
    interval: timedelta
    misfire_grace: int  # seconds a late start is still run


def job_specs(ctx: AppContext) -> tuple[list[JobSpec], list[SourceResult]]:
    """The jobs to schedule, and the sources left out (not configured, disabled)."""
    jobs: list[JobSpec] = []
    skipped: list[SourceResult] = []
    for name, defaults, configured, missing, search, refresh in (
        ("x", X_DEFAULTS, x_configured, X_NOT_CONFIGURED, run_x, refresh_x),
        ("reddit", REDDIT_DEFAULTS, reddit_configured, REDDIT_NOT_CONFIGURED, run_reddit, refresh_reddit),
    ):
        cfg = source_config(ctx.settings, name, defaults)
        if not cfg["enabled"]:
            skipped.append(SourceResult(name, "disabled", message=f"[sources.{name}] enabled = false"))
            continue
        if not configured(ctx.settings):
            skipped.append(SourceResult(name, "not_configured", message=missing))
            continue
        grace = int(cfg["misfire_grace_seconds"])
        jobs.append(JobSpec(name, search, timedelta(minutes=max(1, cfg["interval_minutes"])), grace))
        jobs.append(JobSpec(f"{name}-metrics", refresh,
                            timedelta(minutes=max(1, cfg["refresh_interval_minutes"])), grace))
    if ctx.settings.section("sources").get("file"):
        from pipelines.collect import _run_files

        jobs.append(JobSpec("file", _run_files, FILE_INTERVAL, 300))
    jobs.extend(maintenance_jobs())
    return jobs, skipped


def maintenance_jobs() -> list[JobSpec]:
    """Jobs besides collection: retention purge, webhook push, the scheduler's heartbeat."""
    import requests

    from pipelines.observability import write_heartbeat
    from pipelines.retention import purge
    from pipelines.webhooks import dispatch_due

    session = requests.Session()  # one connection pool for every webhook round

    def push(ctx: AppContext) -> None:
        dispatch_due(ctx, session, ctx.clock())

    return [
        JobSpec("retention", _maintenance(purge), timedelta(days=1), 3600),
        JobSpec("webhooks", _maintenance(push), timedelta(seconds=10), 30),
        JobSpec("heartbeat", _maintenance(write_heartbeat), timedelta(minutes=1), 60),
    ]


def _maintenance(hook: Callable[[AppContext], Any]) -> Callable[..., list[SourceResult]]:
    def runner(ctx: AppContext, **_: Any) -> list[SourceResult]:
        hook(ctx)
        return []
    return runner


class CollectionScheduler:
    """The `pantau schedule` process: jobs, rescheduling on rate limits, clean stop."""

    def __init__(self, ctx: AppContext, *, scheduler: Any = None,
                 sleep: Callable[[float], None] | None = None, max_workers: int = 4) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        self.ctx = ctx
        self.stop_event = threading.Event()
        self.sleep = sleep if sleep is not None else self._wait  # backoff waits end early on SIGTERM
        self.scheduler = scheduler or BackgroundScheduler(
            timezone=timezone.utc, executors={"default": ThreadPoolExecutor(max_workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300})
        self.specs: dict[str, JobSpec] = {}
        self.skipped: list[SourceResult] = []

    def _wait(self, seconds: float) -> None:
        if self.stop_event.wait(seconds):
            raise CollectorError("stop requested while waiting to retry")

    def setup(self) -> None:
        from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED

        jobs, self.skipped = job_specs(self.ctx)
        for result in self.skipped:
            log.warning("source %s not scheduled: %s", result.source, result.message)
        now = self.ctx.clock()
        for spec in jobs:
            self.specs[spec.job_id] = spec
            first = max(now, _blocked_until(self.ctx.engine, spec.job_id, now) or now)
            self.scheduler.add_job(self.run_job, "interval", args=[spec.job_id], id=spec.job_id,
                                   name=spec.job_id, seconds=int(spec.interval.total_seconds()),
                                   next_run_time=first, coalesce=True, max_instances=1,
                                   misfire_grace_time=spec.misfire_grace, replace_existing=True)
        self.scheduler.add_listener(self._after_job, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)

    def run_job(self, job_id: str) -> list[SourceResult]:
        """One job run; whatever happens, the scheduler keeps going."""
        if self.stop_event.is_set():
            return []
        try:
            results = self.specs[job_id].runner(self.ctx, sleep=self.sleep,
                                                should_stop=self.stop_event.is_set)
        except Exception as exc:  # noqa: BLE001 - a failing job must not take the scheduler down
            log.error("job %s failed: %s: %s", job_id, type(exc).__name__, exc)
            return []
        for result in results:
            log.info("job %s: %s, %d new posts", job_id, result.status, result.posts_new)
            if result.status in ("rate_limited", "budget_exhausted") and result.retry_at:
                self.defer(job_id, result.retry_at, result.status)
            elif result.status == "auth_error":
                log.error("job %s paused until restart: %s", job_id, result.message)
                self.scheduler.pause_job(job_id)
        return results

    def defer(self, job_id: str, until: datetime, reason: str) -> None:
        job = self.scheduler.get_job(job_id)
        if job is None:
            return
        if job.next_run_time is None or job.next_run_time < until:
            self.scheduler.modify_job(job_id, next_run_time=until)
            log.warning("job %s %s: next run at %s", job_id, reason.replace("_", "-"),
                        until.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))

    def _after_job(self, event: Any) -> None:
        self.record_next_runs([event.job_id])

    def record_next_runs(self, job_ids: list[str] | None = None, *, stopped: bool = False) -> None:
        for job_id in job_ids or list(self.specs):
            job = self.scheduler.get_job(job_id)
            when = None if stopped or job is None else job.next_run_time
            value = "stopped" if stopped else when.astimezone(timezone.utc).isoformat() if when else "paused"
            try:
                checkpoints.save(self.ctx.engine, SCHEDULE_SOURCE, job_id, value, self.ctx.clock())
            except Exception as exc:  # noqa: BLE001 - status bookkeeping never stops collection
                log.warning("cannot record next run of %s: %s", job_id, type(exc).__name__)

    def request_stop(self, *_: Any) -> None:
        if not self.stop_event.is_set():
            log.warning("stop requested: finishing the pages in flight")
        self.stop_event.set()

    def run_forever(self, *, install_signals: bool = True, poll_seconds: float = 1.0) -> None:
        previous: dict[int, Any] = {}
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, self.request_stop)
        try:
            self.setup()
            self.scheduler.start()
            self.record_next_runs()
            while not self.stop_event.wait(poll_seconds):
                pass
        finally:
            self.stop_event.set()
            if self.scheduler.running:
                self.scheduler.shutdown(wait=True)  # running jobs see the flag after their page
            self.record_next_runs(stopped=True)
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _blocked_until(engine: Engine, source: str, now: datetime) -> datetime | None:
    """A rate limit recorded by the last run of `source` that has not expired yet."""
    r = s.collector_runs
    with engine.connect() as conn:
        until = conn.execute(select(r.c.rate_limited_until).where(r.c.source == source)
                             .order_by(r.c.id.desc()).limit(1)).scalar_one_or_none()
    return until if until and until > now else None


# -- status ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceStatus:
    """What `pantau sources` (and `pantau status`) shows per job."""

    source: str  # job id: x, x-metrics, reddit, reddit-metrics
    state: str  # scheduled, not_configured, disabled
    interval_minutes: int
    last_run: dict[str, Any] | None  # started_at, finished_at, status, pages, posts_*, message
    next_run: str | None  # ISO time, "paused" (auth error), "stopped" (scheduler down), None (never)
    rate_limited_until: datetime | None  # still in force at `now`
    quota: dict[str, Any] | None  # the source's BudgetStatus.to_dict()

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "state": self.state, "interval_minutes": self.interval_minutes,
                "last_run": self.last_run, "next_run": self.next_run,
                "rate_limited_until": (self.rate_limited_until.isoformat()
                                       if self.rate_limited_until else None),
                "quota": self.quota}

    def line(self) -> str:
        """One human line, e.g. `x: ok 08:00, 120 posts fetched (30 new); next 08:15; quota 2300/10000`."""
        if self.state != "scheduled":
            return f"{self.source}: {self.state.replace('_', ' ')}"
        parts = []
        run = self.last_run
        if run:
            parts.append(f"last run {run['started_at'][:16].replace('T', ' ')} {run['status']}, "
                         f"{run['posts_fetched']} posts fetched ({run['posts_new']} new)")
        else:
            parts.append("never run")
        if self.rate_limited_until:
            reason = (run or {}).get("message") or ""
            parts.append(f"rate-limited until {self.rate_limited_until:%H:%M} UTC ({reason.split(';')[0]})")
        if self.next_run:
            parts.append(f"next run {self.next_run[:16].replace('T', ' ')}" if self.next_run[:1].isdigit()
                         else f"next run: {self.next_run}")
        if self.quota:
            parts.append(f"quota {self.quota['used']}/{self.quota['limit']} "
                         f"{self.quota.get('unit', 'posts')} this period")
        return f"{self.source}: " + "; ".join(parts)


def source_status(ctx: AppContext) -> list[SourceStatus]:
    """Per collection job: configuration, last run, next run, rate limit in force, quota used."""
    now = ctx.clock()
    out: list[SourceStatus] = []
    saved = checkpoints.load_all(ctx.engine, SCHEDULE_SOURCE)
    for name, defaults, configured, make_budget in (
        ("x", X_DEFAULTS, x_configured, x_budget),
        ("reddit", REDDIT_DEFAULTS, reddit_configured, reddit_budget),
    ):
        cfg = source_config(ctx.settings, name, defaults)
        state = ("disabled" if not cfg["enabled"] else
                 "scheduled" if configured(ctx.settings) else "not_configured")
        quota = make_budget(ctx, cfg).status().to_dict() if state == "scheduled" else None
        jobs = ((name, cfg["interval_minutes"]), (f"{name}-metrics", cfg["refresh_interval_minutes"]))
        for job_id, minutes in jobs:
            out.append(_job_status(ctx, job_id, state, int(minutes), quota, saved, now))
    if ctx.settings.section("sources").get("file"):
        minutes = int(FILE_INTERVAL.total_seconds() // 60)
        out.append(_job_status(ctx, "file", "scheduled", minutes, None, saved, now))
    return out


def _job_status(ctx: AppContext, job_id: str, state: str, minutes: int, quota: dict[str, Any] | None,
                saved: dict[str, Any], now: datetime) -> SourceStatus:
    r = s.collector_runs
    with ctx.engine.connect() as conn:
        row = conn.execute(select(r).where(r.c.source == job_id).order_by(r.c.id.desc()).limit(1)).first()
    last = None
    limited = None
    if row is not None:
        last = {"started_at": row.started_at.isoformat(),
                "finished_at": row.finished_at.isoformat() if row.finished_at else None,
                "status": row.status, "pages": row.pages, "posts_fetched": row.posts_fetched,
                "posts_new": row.posts_new, "message": row.message}
        until = row.rate_limited_until
        limited = until if until and until > now else None
    next_run = saved[job_id].value if job_id in saved else None
    return SourceStatus(job_id, state, minutes, last, next_run, limited, quota)

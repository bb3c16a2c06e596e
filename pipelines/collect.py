"""Collecting the configured sources once: the part of `pantau run --once` before triage.

Sources come from the config file:

    [[sources.file]]              # a file dropped by another tool, imported when it changes
    path = "inbox/tweets.csv"
    format = "tweet-harvest"

    [sources.x]                   # on when a bearer token is set (PANTAU_X_BEARER_TOKEN)
    monthly_post_budget = 10000
    interval_minutes = 15

    [sources.reddit]              # on when app credentials are set (PANTAU_REDDIT_CLIENT_*)
    subreddits = ["indonesia"]

Every key and its default is in X_DEFAULTS / REDDIT_DEFAULTS below; an unknown key is an error.
Live platforms register their collection functions in SOURCE_RUNNERS. Each run is recorded in
`collector_runs`; each page is stored (one transaction) before its checkpoint is saved.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from collectors.base import (
    CollectorAuthError,
    CollectorBudgetExhausted,
    CollectorError,
    CollectorRateLimited,
)
from pipelines import checkpoints
from pipelines.budget import MonthlyBudget
from pipelines.context import AppContext
from pipelines.ingest import Ingestor
from pipelines.settings import Settings, SettingsError
from triage.errors import PantauError

log = logging.getLogger(__name__)

X_DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "interval_minutes": 15,  # search job interval
    "monthly_post_budget": 10000,  # posts read per period, search and lookup together
    "budget_reset_day": 1,  # day of the month the X subscription renews
    "pace_budget": True,  # spread the budget evenly over the period
    "max_pages_per_run": 20,
    "max_pages_per_query": 5,
    "page_size": 100,  # max_results (10-100), lowered to what the budget allows
    "lang": "id",  # the lang: operator; X accepts "id" for Indonesian
    "exclude_retweets": True,
    "include_aliases": True,  # search the agencies' names as well as their @handles
    "exclude_own_posts": True,  # -from:<agency handle>
    "agencies": [],  # agency ids to search; empty: all with handles or aliases
    "extra_queries": [],
    "backfill_hours": 24,  # how far back a query's first sweep reaches (at most 7 days)
    "timeout_seconds": 20.0,
    "max_attempts": 4,
    "refresh_interval_minutes": 5,  # metric refresh job interval
    "refresh_max_posts": 300,  # posts looked up per refresh run
    "refresh_budget_share": 0.3,  # at most this share of the monthly budget on lookups
    "misfire_grace_seconds": 300,
}
REDDIT_DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "interval_minutes": 10,
    "subreddits": ["indonesia"],
    # Reddit meters requests (100 a minute), not items, and has no monthly cap: this guard counts
    # requests, so a runaway loop stops, while normal polling (at most 30 pages every 10 minutes,
    # about 130,000 a month) never reaches it. Counting items re-read by every poll used it up
    # in days.
    "monthly_request_budget": 200000,
    "budget_reset_day": 1,
    "pace_budget": False,
    "max_pages_per_run": 30,  # requests per run (Reddit allows 100 per minute)
    "max_pages_per_listing": 5,
    "search": True,  # search each subreddit for agency names
    "new": True,  # read each subreddit's new submissions (kept when they mention an agency)
    "extra_queries": [],
    "min_agency_score": 2.0,  # registry match needed to qualify (2 = a name, 3 = a handle)
    "comments": True,  # fetch the comments of qualifying submissions
    "comment_limit": 200,
    "backfill_hours": 24,
    "timeout_seconds": 16.0,
    "max_attempts": 4,
    "refresh_interval_minutes": 15,
    "refresh_max_posts": 300,
    "refresh_max_comment_fetches": 10,
    "misfire_grace_seconds": 300,
}
X_NOT_CONFIGURED = ("no bearer token: set PANTAU_X_BEARER_TOKEN in the environment or x_bearer_token "
                    "in the config file")
REDDIT_NOT_CONFIGURED = ("no app credentials: set PANTAU_REDDIT_CLIENT_ID and PANTAU_REDDIT_CLIENT_SECRET "
                         "in the environment, or reddit_client_id and reddit_client_secret in the "
                         "config file")


@dataclass(frozen=True)
class SourceResult:
    source: str
    # ok, partial, stopped, error, not_configured, disabled, rate_limited, auth_error, budget_exhausted
    status: str
    posts_new: int = 0
    message: str = ""
    retry_at: datetime | None = None  # rate limit or exhausted budget: do not run before this
    pages: int = 0
    posts_fetched: int = 0


def source_config(settings: Settings, name: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """[sources.<name>] merged over `defaults`, each value checked against the default's type."""
    section = settings.section("sources").get(name, {})
    if not isinstance(section, dict):
        raise SettingsError(f"[sources.{name}] must be a table")
    unknown = set(section) - set(defaults)
    if unknown:
        raise SettingsError(f"[sources.{name}]: unknown key(s) {', '.join(sorted(unknown))} "
                            f"(known: {', '.join(sorted(defaults))})")
    out = dict(defaults)
    for key, value in section.items():
        want = type(defaults[key])
        ok = (isinstance(value, bool) if want is bool else
              isinstance(value, (int, float)) and not isinstance(value, bool) if want is float else
              isinstance(value, int) and not isinstance(value, bool) if want is int else
              isinstance(value, list) and all(isinstance(v, str) for v in value) if want is list else
              isinstance(value, want))
        if not ok:
            raise SettingsError(f"[sources.{name}] {key}: expected {want.__name__}, got {value!r}")
        if want in (int, float) and value < 0:
            raise SettingsError(f"[sources.{name}] {key}: must not be negative")
        out[key] = value
    return out


def x_configured(settings: Settings) -> bool:
    return bool(settings.x_bearer_token)


def reddit_configured(settings: Settings) -> bool:
    return bool(settings.reddit_client_id) and bool(settings.reddit_client_secret)


def _run_module():  # noqa: ANN202
    """pipelines.run, imported when first needed: it loads scikit-learn, which collecting never uses."""
    from pipelines import run

    return run


def _never() -> bool:
    return False


class SourceRun:
    """One recorded collector run: stores fetched pages, saves checkpoints after, bills the budget."""

    def __init__(self, ctx: AppContext, source: str, writer: Ingestor, budget: MonthlyBudget | None,
                 should_stop: Callable[[], bool]) -> None:
        self.ctx = ctx
        self.source = source
        self.writer = writer
        self.budget = budget
        self.should_stop = should_stop
        self.pages = self.posts_fetched = self.posts_new = self.snapshots_new = self.row_errors = 0
        self.problems: list[str] = []
        self.stopped = False
        self.run_id = _run_module().start_run(ctx.engine, source, ctx.clock())

    def store(self, fetched: Any, *, checkpoint_source: str | None = None, checkpoint_key: str | None = None,
              budget_kind: str = "search") -> None:
        """Bill the page, store it (its own transaction), then move the checkpoint."""
        self.bill(fetched.billed, budget_kind)  # the platform counted it on delivery
        report = self.writer.store_page(fetched.page)
        if checkpoint_key and fetched.page.position is not None:
            checkpoints.save(self.ctx.engine, checkpoint_source or self.source, checkpoint_key,
                             fetched.page.position, self.ctx.clock())
        self.pages += 1
        self.posts_fetched += report.posts_seen
        self.posts_new += report.posts_new
        self.snapshots_new += report.snapshots_new
        self.row_errors += len(report.errors)
        self.problems.extend(fetched.problems)

    def bill(self, amount: int, budget_kind: str = "search") -> None:
        if self.budget is not None:
            self.budget.consume(amount, budget_kind)

    def stop_requested(self) -> bool:
        if self.should_stop():
            self.stopped = True
        return self.stopped

    def problem(self, message: str) -> None:
        log.warning("%s: %s", self.source, message)
        self.problems.append(message)

    def summary(self) -> str:
        parts = [f"{self.pages} pages, {self.posts_fetched} posts, {self.posts_new} new, "
                 f"{self.snapshots_new} snapshots"]
        if self.row_errors:
            parts.append(f"{self.row_errors} unreadable items skipped")
        if self.problems:
            parts.append(f"{len(self.problems)} partial errors (first: {self.problems[0][:160]})")
        if self.stopped:
            parts.append("stopped on request")
        return "; ".join(parts)

    def finish(self, status: str, message: str | None = None,
               retry_at: datetime | None = None) -> SourceResult:
        message = message or self.summary()
        _run_module().finish_run(self.ctx.engine, self.run_id, self.ctx.clock(), status=status,
                                 pages=self.pages,
                   posts_fetched=self.posts_fetched, posts_new=self.posts_new, message=message,
                   rate_limited_until=retry_at if status == "rate_limited" else None)
        return SourceResult(self.source, status, self.posts_new, message, retry_at, self.pages,
                            self.posts_fetched)


def execute(ctx: AppContext, source: str, body: Callable[[SourceRun], None], *,
            budget: MonthlyBudget | None, should_stop: Callable[[], bool]) -> SourceResult:
    """Run `body` as one recorded run; collector errors become a result, never a crash."""
    try:
        writer = _run_module().ingestor(ctx)
    except PantauError as exc:  # e.g. no pseudonym key: nothing can be stored
        return SourceResult(source, "error", message=str(exc))
    run = SourceRun(ctx, source, writer, budget, should_stop)
    try:
        body(run)
    except CollectorRateLimited as exc:
        return run.finish("rate_limited", f"{exc}; rate-limited until {exc.until:%Y-%m-%d %H:%M} UTC; "
                          + run.summary(), exc.until)
    except CollectorAuthError as exc:
        return run.finish("auth_error", str(exc))
    except CollectorBudgetExhausted as exc:
        state = budget.status() if budget is not None else None
        retry_at = state.period_end if state is not None and state.exhausted else None
        used = f" ({state.used}/{state.limit} used this period)" if state is not None else ""
        return run.finish("budget_exhausted", f"{exc}{used}; " + run.summary(), retry_at)
    except CollectorError as exc:  # when stopping, a cut-short backoff ends here: not an error
        return run.finish("stopped" if run.stop_requested() else "error", f"{exc}; " + run.summary())
    except BaseException as exc:
        run.finish("error", f"{type(exc).__name__} after {run.pages} pages")
        raise
    status = "stopped" if run.stopped else "partial" if (run.problems or run.row_errors) else "ok"
    return run.finish(status)


def ordered_by_checkpoint(keys: Iterable[str], saved: dict[str, checkpoints.Checkpoint]) -> list[str]:
    """Never-run keys first, then the least recently advanced: every query gets its turn."""
    never = datetime.min.replace(tzinfo=timezone.utc)
    return sorted(keys, key=lambda k: saved[k].updated_at if k in saved else never)


# -- X ---------------------------------------------------------------------------------------


def x_budget(ctx: AppContext, cfg: dict[str, Any]) -> MonthlyBudget:
    return MonthlyBudget(ctx.engine, "x", cfg["monthly_post_budget"], ctx.clock,
                         reset_day=cfg["budget_reset_day"], pace=cfg["pace_budget"],
                         shares={"lookup": cfg["refresh_budget_share"]})


def x_collector(ctx: AppContext, cfg: dict[str, Any], sleep: Callable[[float], None]):  # noqa: ANN201
    from collectors.x import XCollector

    return XCollector(ctx.settings.x_bearer_token.get(), clock=ctx.clock, sleep=sleep,
                      timeout=float(cfg["timeout_seconds"]), max_attempts=cfg["max_attempts"])


def run_x(ctx: AppContext, *, sleep: Callable[[float], None] = time.sleep,
          should_stop: Callable[[], bool] = _never) -> list[SourceResult]:
    """One X search run over every agency query, within the page and post budgets."""
    from collectors.x import SweepState, XQueryRejected, build_queries

    cfg = source_config(ctx.settings, "x", X_DEFAULTS)
    if not cfg["enabled"]:
        return [SourceResult("x", "disabled", message="[sources.x] enabled = false")]
    if not x_configured(ctx.settings):
        return [SourceResult("x", "not_configured", message=X_NOT_CONFIGURED)]
    queries = {q.key: q for q in build_queries(
        ctx.registry, agencies=cfg["agencies"], lang=cfg["lang"], exclude_retweets=cfg["exclude_retweets"],
        include_aliases=cfg["include_aliases"], exclude_own_posts=cfg["exclude_own_posts"],
        extra=cfg["extra_queries"])}
    budget = x_budget(ctx, cfg)
    collector = x_collector(ctx, cfg, sleep)

    def body(run: SourceRun) -> None:
        saved = checkpoints.load_all(ctx.engine, "x", prefix="q:")
        for key in ordered_by_checkpoint(queries, saved):
            if run.pages >= cfg["max_pages_per_run"] or run.stop_requested():
                break
            state = SweepState.from_json(saved[key].value if key in saved else None)
            pages = collector.search(queries[key], state, remaining=lambda: budget.remaining("search"),
                                     page_size=cfg["page_size"],
                                     backfill=timedelta(hours=cfg["backfill_hours"]))
            try:
                for taken, fetched in enumerate(pages, start=1):
                    run.store(fetched, checkpoint_key=key)
                    if (taken >= cfg["max_pages_per_query"] or run.pages >= cfg["max_pages_per_run"]
                            or run.stop_requested()):
                        break
            except XQueryRejected as exc:
                run.problem(f"query {key} skipped: {exc}")
            finally:
                pages.close()
                run.bill(collector.take_unbilled())  # unreadable answers X counted all the same

    return [execute(ctx, "x", body, budget=budget, should_stop=should_stop)]


# -- Reddit ----------------------------------------------------------------------------------


def reddit_budget(ctx: AppContext, cfg: dict[str, Any]) -> MonthlyBudget:
    return MonthlyBudget(ctx.engine, "reddit", cfg["monthly_request_budget"], ctx.clock,
                         reset_day=cfg["budget_reset_day"], pace=cfg["pace_budget"], unit="requests")


def reddit_collector(ctx: AppContext, cfg: dict[str, Any], sleep: Callable[[float], None]):  # noqa: ANN201
    from collectors.reddit import RedditCollector

    s = ctx.settings
    return RedditCollector(s.reddit_client_id.get(), s.reddit_client_secret.get(), s.reddit_user_agent,
                           clock=ctx.clock, sleep=sleep, timeout=float(cfg["timeout_seconds"]),
                           max_attempts=cfg["max_attempts"])


def qualifies(ctx: AppContext, text: str, min_score: float) -> bool:
    """A post that the agency registry attaches to an agency with enough evidence."""
    match = ctx.registry.resolve(text)
    return match is not None and match.score >= min_score


def last_replies(engine: Any, post_ids: list[str]) -> dict[str, int | None]:
    """The comment count at the latest stored snapshot of each Reddit post."""
    from sqlalchemy import and_, func, select

    from pipelines.store import schema as st

    p, m = st.posts, st.metric_snapshots
    last = select(m.c.post_pk, func.max(m.c.at).label("at")).group_by(m.c.post_pk).subquery()
    out: dict[str, int | None] = {}
    with engine.connect() as conn:
        for start in range(0, len(post_ids), 400):
            rows = conn.execute(select(p.c.post_id, m.c.replies).select_from(
                p.join(last, last.c.post_pk == p.c.id)
                .join(m, and_(m.c.post_pk == p.c.id, m.c.at == last.c.at)))
                .where(p.c.platform == "reddit", p.c.post_id.in_(post_ids[start : start + 400])))
            out.update({post_id: replies for post_id, replies in rows})
    return out


def stored_comment_counts(engine: Any, submission_ids: list[str]) -> dict[str, int]:
    from sqlalchemy import func, select

    from pipelines.store import schema as st

    p = st.posts
    out: dict[str, int] = {}
    with engine.connect() as conn:
        for start in range(0, len(submission_ids), 400):
            rows = conn.execute(select(p.c.conversation_id, func.count()).where(
                p.c.platform == "reddit", p.c.conversation_id.in_(submission_ids[start : start + 400]),
                p.c.post_id != p.c.conversation_id).group_by(p.c.conversation_id))
            out.update({cid: int(n) for cid, n in rows})
    return out


def comments_wanted(ctx: AppContext, items: Iterable[Any], min_score: float) -> list[str]:
    """Submissions (about an agency) whose comments to fetch, decided before their page is stored:
    more comments than at our last look, or some but none stored yet (a fetch lost to a crash)."""
    candidates = [c.post for c in items if c.post.metrics and (c.post.metrics[-1].replies or 0) > 0
                  and c.post.conversation_id == c.post.post_id and qualifies(ctx, c.post.text, min_score)]
    if not candidates:
        return []
    ids = [p.post_id for p in candidates]
    seen, stored = last_replies(ctx.engine, ids), stored_comment_counts(ctx.engine, ids)
    return [p.post_id for p in candidates
            if (p.metrics[-1].replies or 0) > (seen.get(p.post_id) or 0) or not stored.get(p.post_id)]


def reddit_listings(ctx: AppContext, cfg: dict[str, Any]) -> dict[str, tuple[str, str, str | None]]:
    """checkpoint key -> (kind, subreddit, query) for every listing to sweep."""
    import hashlib

    from collectors.reddit import build_search_queries

    aliases = [a for agency in ctx.registry.agencies for a in agency.aliases]
    queries = build_search_queries(aliases) + list(cfg["extra_queries"])
    out: dict[str, tuple[str, str, str | None]] = {}
    for sub in cfg["subreddits"]:
        if cfg["new"]:
            out[f"r/{sub}:new"] = ("new", sub, None)
        if cfg["search"]:
            for q in queries:
                out[f"r/{sub}:search:{hashlib.sha1(q.encode()).hexdigest()[:12]}"] = ("search", sub, q)
    return out


def run_reddit(ctx: AppContext, *, sleep: Callable[[float], None] = time.sleep,
               should_stop: Callable[[], bool] = _never) -> list[SourceResult]:
    """One Reddit run: new submissions and agency searches per subreddit, comments of qualifying ones."""
    from collectors.reddit import ListingState, RedditListingError

    cfg = source_config(ctx.settings, "reddit", REDDIT_DEFAULTS)
    if not cfg["enabled"]:
        return [SourceResult("reddit", "disabled", message="[sources.reddit] enabled = false")]
    if not reddit_configured(ctx.settings):
        return [SourceResult("reddit", "not_configured", message=REDDIT_NOT_CONFIGURED)]
    listings = reddit_listings(ctx, cfg)
    budget = reddit_budget(ctx, cfg)
    collector = reddit_collector(ctx, cfg, sleep)
    remaining = budget.remaining

    def full(run: SourceRun) -> bool:
        return run.pages >= cfg["max_pages_per_run"] or run.stop_requested()

    def body(run: SourceRun) -> None:
        saved = checkpoints.load_all(ctx.engine, "reddit", prefix="r/")
        for key in ordered_by_checkpoint(listings, saved):
            if full(run):
                break
            kind, sub, query = listings[key]
            state = ListingState.from_json(saved[key].value if key in saved else None)
            options = {"remaining": remaining, "backfill": timedelta(hours=cfg["backfill_hours"])}
            pages = (collector.new(sub, state, **options) if kind == "new"
                     else collector.search(sub, query or "", state, **options))
            try:
                for taken, fetched in enumerate(pages, start=1):
                    page = fetched.page
                    keep = [c for c in page.posts if qualifies(ctx, c.post.text, cfg["min_agency_score"])]
                    if kind == "new":  # the raw page stays whole; only relevant posts are stored
                        fetched = replace(fetched, page=replace(page, posts=tuple(keep)))
                    wanted = comments_wanted(ctx, keep, cfg["min_agency_score"]) if cfg["comments"] else []
                    run.store(fetched, checkpoint_key=key)
                    for submission_id in wanted:
                        if full(run):
                            break
                        run.store(collector.comments(submission_id, query=page.provenance.query,
                                                     remaining=remaining, limit=cfg["comment_limit"]))
                    if taken >= cfg["max_pages_per_listing"] or full(run):
                        break
            except RedditListingError as exc:
                run.problem(f"listing {key} skipped: {exc}")
            finally:
                pages.close()

    return [execute(ctx, "reddit", body, budget=budget, should_stop=should_stop)]


# -- files -----------------------------------------------------------------------------------


def _run_files(ctx: AppContext, **_: Any) -> list[SourceResult]:
    entries = ctx.settings.section("sources").get("file", [])
    if not isinstance(entries, list):
        raise SettingsError("[[sources.file]] must be an array of tables")
    results = []
    for entry in entries:
        path = entry.get("path") if isinstance(entry, dict) else None
        if not path:
            raise SettingsError("[[sources.file]] entries need a path")
        try:
            report = _run_module().import_file(ctx, Path(path), entry.get("format"))
        except CollectorError as exc:
            results.append(SourceResult(f"file:{Path(path).name}", "error", 0, str(exc)))
            continue
        results.append(SourceResult(f"file:{Path(path).name}", "partial" if report.errors else "ok",
                                    report.posts_new, f"{len(report.errors)} rows skipped"))
    return results


# source name -> function collecting it once: runner(ctx, *, sleep=..., should_stop=...).
SOURCE_RUNNERS: dict[str, Callable[..., list[SourceResult]]] = {
    "file": _run_files,
    "x": run_x,
    "reddit": run_reddit,
}


def collect_once(ctx: AppContext, **options: Any) -> list[SourceResult]:
    """Run every configured source once; one failing source never stops the others."""
    results: list[SourceResult] = []
    for name, runner in SOURCE_RUNNERS.items():
        try:
            results.extend(runner(ctx, **options))
        except CollectorError as exc:
            log.warning("source %s failed: %s", name, exc)
            results.append(SourceResult(name, "error", 0, str(exc)))
    return results

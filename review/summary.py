"""SQL for the ringkasan (dashboard) and sumber (sources) pages.

Days and hours are bucketed in WIB (UTC+7) by the database, with each dialect's own date
functions; KPIs are computed from the posts' first human action (the `reviews` table).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, and_, case, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from pipelines.spikes import recent_spikes
from pipelines.store import schema as s
from triage.priority import FIRST_RESPONSE_DAYS

from .render import WIB

p, tr, r = s.posts, s.triage_results, s.reviews
SPIKE_RATIO = 3.0  # an hour with this many times the agency's usual hourly count ...
SPIKE_MIN_POSTS = 5  # ... and at least this many posts is a spike
BASELINE_DAYS = 7


def _bucket(conn: Connection, column: Any, unit: str) -> ColumnElement[str]:
    """'YYYY-MM-DD' (unit='day') or 'YYYY-MM-DD HH' (unit='hour') of `column`, in WIB."""
    if conn.dialect.name == "postgresql":
        pattern = "YYYY-MM-DD" if unit == "day" else "YYYY-MM-DD HH24"
        return func.to_char(func.timezone("Asia/Jakarta", column), pattern)
    pattern = "%Y-%m-%d" if unit == "day" else "%Y-%m-%d %H"
    return func.strftime(pattern, column, literal("+7 hours"))


def window(days: int, now: datetime) -> tuple[list[date], datetime, datetime]:
    """The last `days` WIB calendar days up to today: (days, start, end) with UTC bounds."""
    today = now.astimezone(WIB).date()
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=WIB)
    return [first + timedelta(days=i) for i in range(days)], start, start + timedelta(days=days)


BREAKDOWNS = ("substance", "agency_id", "maladministration")


def daily_counts(conn: Connection, start: datetime, end: datetime,
                 kind: str | None) -> dict[str, dict[str | None, dict[str, int]]]:
    """{breakdown: {value: {'YYYY-MM-DD': posts}}} for posts created in [start, end), for the
    three breakdowns (substance, agency, maladministration) in ONE pass over the posts."""
    day = _bucket(conn, p.c.created_at, "day")
    columns = [tr.c[name] for name in BREAKDOWNS]
    query = (select(*columns, day.label("day"), func.count())
             .select_from(tr.join(p, p.c.id == tr.c.post_pk))
             .where(p.c.created_at >= start, p.c.created_at < end).group_by(*columns, day))
    if kind:
        query = query.where(tr.c.kind == kind)
    out: dict[str, dict[str | None, dict[str, int]]] = {
        name: defaultdict(lambda: defaultdict(int)) for name in BREAKDOWNS}
    for *values, bucket, count in conn.execute(query):
        for name, value in zip(BREAKDOWNS, values, strict=True):
            out[name][value][bucket] += int(count)
    return out


def _hours_between(conn: Connection, earlier: Any, later: Any) -> ColumnElement[float]:
    if conn.dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / 3600.0
    return (func.julianday(later) - func.julianday(earlier)) * 24.0


def spikes(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """Hours of the last 24 h in which an agency got k sigma above its usual posts per hour."""
    return recent_spikes(conn, now)


def service_kpis(conn: Connection, start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    """Complaints (kind aduan) created in [start, end): how many got a first human action within
    the service limit (of those whose limit has passed or that were acted on), the mean time to
    the first action, and how many are past the limit with no action. Aggregated in SQL."""
    first = (select(p.c.id, p.c.created_at, func.min(r.c.at).label("first"))
             .select_from(tr.join(p, p.c.id == tr.c.post_pk).outerjoin(r, r.c.post_pk == p.c.id))
             .where(tr.c.kind == "aduan", p.c.created_at >= start, p.c.created_at < end)
             .group_by(p.c.id, p.c.created_at).subquery())
    limit_hours = FIRST_RESPONSE_DAYS * 24
    hours = _hours_between(conn, first.c.created_at, first.c.first)
    past_limit = first.c.created_at <= now - timedelta(days=FIRST_RESPONSE_DAYS)
    acted = first.c.first.is_not(None)

    def total(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = conn.execute(select(
        func.count(), total(acted), total(or_(acted, past_limit)),
        total(and_(acted, hours <= limit_hours)), func.avg(hours), total(and_(~acted, past_limit)),
    )).one()
    complaints, n_acted, due, on_time, mean_hours, overdue_open = row
    return {
        "complaints": int(complaints), "acted": int(n_acted), "due": int(due), "on_time": int(on_time),
        "on_time_share": int(on_time) / int(due) if due else None,
        "mean_hours_to_action": float(mean_hours) if mean_hours is not None else None,
        "overdue_open": int(overdue_open),
    }


def queue_counts(conn: Connection) -> dict[str, int]:
    q = s.queue_items
    return {k: int(v) for k, v in conn.execute(select(q.c.status, func.count()).group_by(q.c.status))}


# --- sources -------------------------------------------------------------------------------------
def sources(conn: Connection, now: datetime) -> dict[str, dict[str, Any]]:
    """Per source: the latest run, its last successful run, posts fetched (24 h, this month),
    and its checkpoints."""
    runs = s.collector_runs
    latest_ids = select(func.max(runs.c.id)).group_by(runs.c.source).scalar_subquery()
    out: dict[str, dict[str, Any]] = {}
    for row in conn.execute(select(runs).where(runs.c.id.in_(latest_ids))):
        out[row.source] = {"last": dict(row._mapping)}
    ok_ids = select(func.max(runs.c.id)).where(runs.c.status.in_(("ok", "partial"))) \
        .group_by(runs.c.source).scalar_subquery()
    for row in conn.execute(select(runs.c.source, runs.c.finished_at).where(runs.c.id.in_(ok_ids))):
        out.setdefault(row.source, {})["last_ok"] = row.finished_at
    month_start = now.astimezone(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for label, since in (("month", month_start), ("day", now - timedelta(hours=24))):
        for source, fetched, count in conn.execute(
                select(runs.c.source, func.coalesce(func.sum(runs.c.posts_fetched), 0), func.count())
                .where(runs.c.started_at >= since).group_by(runs.c.source)):
            entry = out.setdefault(source, {})
            entry[f"fetched_{label}"] = int(fetched)
            entry[f"runs_{label}"] = int(count)
    cp = s.checkpoints
    for source, count, updated in conn.execute(
            select(cp.c.source, func.count(), func.max(cp.c.updated_at)).group_by(cp.c.source)):
        entry = out.setdefault(source, {})
        entry["checkpoints"] = int(count)
        entry["checkpoint_at"] = updated
    return out

"""Operators' view: `GET /healthz` and `GET /metrics` (Prometheus text format).

Figures are read from the database at scrape time, so every worker and the scheduler, on any
machine, are counted alike. No post text, handle or secret is ever part of them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from pipelines.context import AppContext
from pipelines.store import schema as s

HEARTBEAT_SOURCE = "scheduler"  # checkpoints(source, key="heartbeat") written by the scheduler
HEARTBEAT_STALE = timedelta(minutes=5)


def write_heartbeat(ctx: AppContext) -> None:
    """The scheduler's sign of life, read by /healthz."""
    from pipelines.checkpoints import save

    now = ctx.clock()
    save(ctx.engine, HEARTBEAT_SOURCE, "heartbeat", now.isoformat(), now)


def scheduler_heartbeat(engine: Engine) -> datetime | None:
    c = s.checkpoints
    with engine.connect() as conn:
        value = conn.execute(select(c.c.updated_at).where(
            c.c.source == HEARTBEAT_SOURCE, c.c.key == "heartbeat")).scalar_one_or_none()
    return value


def health(ctx: AppContext) -> tuple[bool, dict]:
    """(healthy, details). Healthy means the database answers; the rest is reported."""
    now = ctx.clock()
    try:
        engine = ctx.engine
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, Exception) as exc:  # noqa: BLE001 - any failure is "unhealthy"
        return False, {"database": "unreachable", "error": type(exc).__name__}
    beat = scheduler_heartbeat(engine)
    r = s.collector_runs
    with engine.connect() as conn:
        last_ok = conn.execute(select(r.c.source, func.max(r.c.finished_at))
                               .where(r.c.status.in_(("ok", "partial"))).group_by(r.c.source)).all()
    return True, {
        "database": "ok",
        "scheduler": ("alive" if beat and now - beat < HEARTBEAT_STALE else "not running"),
        "scheduler_heartbeat": beat.isoformat() if beat else None,
        "last_successful_run": {src: at.isoformat() for src, at in last_ok if at},
    }


class _DatabaseCollector:
    """Prometheus collector reading counts from the store at scrape time."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def collect(self):  # noqa: ANN201 - prometheus_client's protocol
        engine = self.ctx.engine
        now = self.ctx.clock()
        p, tr, q, r = s.posts, s.triage_results, s.queue_items, s.collector_runs
        with engine.connect() as conn:
            collected = conn.execute(select(p.c.collector, func.count()).group_by(p.c.collector)).all()
            triaged = conn.execute(select(p.c.collector, func.count()).join(tr, tr.c.post_pk == p.c.id)
                                   .group_by(p.c.collector)).all()
            queued = conn.execute(select(p.c.collector, func.count()).join(q, q.c.post_pk == p.c.id)
                                  .group_by(p.c.collector)).all()
            depth = dict(conn.execute(select(q.c.status, func.count()).group_by(q.c.status)).all())
            oldest = conn.execute(select(func.min(p.c.inserted_at))
                                  .where(p.c.triage_state == "pending")).scalar()
            waits = conn.execute(select(r.c.source, func.count()).where(r.c.status == "rate_limited")
                                 .group_by(r.c.source)).all()
        for name, doc, rows in (
            ("pantau_posts_collected", "Posts stored, by collector.", collected),
            ("pantau_posts_triaged", "Posts triaged, by collector.", triaged),
            ("pantau_posts_queued", "Queue items, by collector of their post.", queued),
            ("pantau_rate_limit_waits", "Collector runs that ended rate-limited, by source.", waits),
        ):
            family = GaugeMetricFamily(name, doc, labels=["source"])
            for source, count in rows:
                family.add_metric([source], count)
            yield family
        family = GaugeMetricFamily("pantau_queue_depth", "Queue items by state.", labels=["state"])
        for state in ("ready", "leased", "acked", "dead", "superseded"):
            family.add_metric([state], depth.get(state, 0))
        yield family
        yield GaugeMetricFamily("pantau_dead_letters", "Queue items dead-lettered.",
                                value=depth.get("dead", 0))
        lag = (now - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily("pantau_triage_lag_seconds", "Age of the oldest untriaged post.", value=lag)


def mount_ops(app: FastAPI, ctx: AppContext) -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_DatabaseCollector(ctx))

    @app.get("/healthz", tags=["operations"], summary="Database reachable, scheduler alive, last runs",
             responses={503: {"description": "The database is unreachable (status 'unhealthy')",
                              "content": {"application/json": {"schema": {"type": "object"}}}}})
    def healthz() -> JSONResponse:
        ok, details = health(ctx)
        return JSONResponse({"status": "ok" if ok else "unhealthy", **details},
                            status_code=200 if ok else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics",
             response_class=PlainTextResponse)  # documents text/plain, what it serves
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

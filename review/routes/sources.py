"""Sumber (`/sumber`): each collector's last run, next run, rate-limit state and quota used.

Interval, next run and quota come from `pipelines.schedule.source_status`, as `pantau sources`
shows them: the next run the scheduler recorded, and the source's monthly budget
(`[sources.x] monthly_post_budget`, posts; `[sources.reddit] monthly_request_budget`, requests).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from pipelines.collect import reddit_configured, x_configured
from pipelines.schedule import SourceStatus, source_status
from triage.errors import PantauError

from ..deps import LoggedIn, state
from ..summary import sources

router = APIRouter(include_in_schema=False)

STATUS_NAMES = {
    "running": "Sedang berjalan", "ok": "Berhasil", "partial": "Sebagian berhasil",
    "rate_limited": "Dibatasi platform", "error": "Gagal", "not_configured": "Belum dikonfigurasi",
}
SOURCE_NAMES = {"x": "X (Twitter)", "reddit": "Reddit", "file": "Berkas impor"}


def _configured(settings: Any) -> set[str]:
    names = {name for name, configured in (("x", x_configured), ("reddit", reddit_configured))
             if configured(settings)}
    if settings.section("sources").get("file"):
        names.add("file")
    return names


def _schedule(ctx: Any) -> tuple[dict[str, SourceStatus], str | None]:
    """Each job's interval, next run and quota, as `pantau sources` shows them (the scheduler's
    own record and the configured budgets), or the configuration error that stops them."""
    try:
        return {job.source: job for job in source_status(ctx)}, None
    except PantauError as exc:
        return {}, str(exc)


def _when(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:  # "paused" or "stopped": shown from the job's state instead
        return None


@router.get("/sumber", response_class=HTMLResponse)
def sources_page(request: Request, who: LoggedIn) -> Response:
    st = state(request)
    settings = st.ctx.settings
    now = st.ctx.clock()
    with st.ctx.engine.connect() as conn:
        found = sources(conn, now)
    jobs, config_error = _schedule(st.ctx)
    names = sorted(set(found) | _configured(settings))
    rows = []
    for name in names:
        info = found.get(name, {})
        last = info.get("last")
        job = jobs.get(name)
        scheduled = job is not None and job.state == "scheduled"
        every = job.interval_minutes if scheduled else None
        limited_until = last["rate_limited_until"] if last else None
        limited = limited_until is not None and limited_until > now
        next_run = _when(job.next_run) if scheduled else None
        if limited and (next_run is None or next_run < limited_until):
            next_run = limited_until
        quota = job.quota if scheduled else None
        rows.append({
            "name": SOURCE_NAMES.get(name, name), "id": name, "last": last,
            "status": STATUS_NAMES.get(last["status"], last["status"]) if last else "Belum pernah berjalan",
            "state": last["status"] if last else "none",
            "last_ok": info.get("last_ok"), "next_run": next_run, "every": every,
            "limited": limited, "limited_until": limited_until if limited else None,
            "fetched_day": info.get("fetched_day", 0), "fetched_month": info.get("fetched_month", 0),
            "runs_day": info.get("runs_day", 0), "quota": quota,
            "quota_share": quota["used"] / quota["limit"] if quota and quota["limit"] else None,
            "paused": scheduled and job.next_run in ("paused", "stopped") and job.next_run,
            "checkpoints": info.get("checkpoints", 0), "checkpoint_at": info.get("checkpoint_at"),
        })
    return st.pages.render(request, "sumber.html", viewer=who, nav="sumber", rows=rows, now=now,
                           config_error=config_error)

"""Sumber (`/sumber`): each collector's last run, next run, rate-limit state and quota used.

The next run is known when the config file schedules the source:
`[schedule.<source>] every_minutes = 15`; a quota is shown against
`[sources.<source>] monthly_quota = 10000` when set.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ..deps import LoggedIn, state
from ..summary import sources

router = APIRouter(include_in_schema=False)

STATUS_NAMES = {
    "running": "Sedang berjalan", "ok": "Berhasil", "partial": "Sebagian berhasil",
    "rate_limited": "Dibatasi platform", "error": "Gagal", "not_configured": "Belum dikonfigurasi",
}
SOURCE_NAMES = {"x": "X (Twitter)", "reddit": "Reddit", "file": "Berkas impor"}


def _configured(settings: Any) -> set[str]:
    names = set()
    if settings.x_bearer_token:
        names.add("x")
    if settings.reddit_client_id and settings.reddit_client_secret:
        names.add("reddit")
    if settings.section("sources").get("file"):
        names.add("file")
    return names


def _setting(section: Any, source: str, *keys: str) -> int | None:
    entry = section.get(source)
    if isinstance(entry, dict):
        for key in keys:
            value = entry.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
    return None


@router.get("/sumber", response_class=HTMLResponse)
def sources_page(request: Request, who: LoggedIn) -> Response:
    st = state(request)
    settings = st.ctx.settings
    now = st.ctx.clock()
    with st.ctx.engine.connect() as conn:
        found = sources(conn, now)
    names = sorted(set(found) | _configured(settings))
    rows = []
    for name in names:
        info = found.get(name, {})
        last = info.get("last")
        every = _setting(settings.section("schedule"), name, "every_minutes", "interval_minutes")
        limited_until = last["rate_limited_until"] if last else None
        limited = limited_until is not None and limited_until > now
        next_run: datetime | None = None
        if every and last:
            next_run = max(last["started_at"] + timedelta(minutes=every), now)
        if limited and (next_run is None or next_run < limited_until):
            next_run = limited_until
        quota = _setting(settings.section("sources"), name, "monthly_quota")
        rows.append({
            "name": SOURCE_NAMES.get(name, name), "id": name, "last": last,
            "status": STATUS_NAMES.get(last["status"], last["status"]) if last else "Belum pernah berjalan",
            "state": last["status"] if last else "none",
            "last_ok": info.get("last_ok"), "next_run": next_run, "every": every,
            "limited": limited, "limited_until": limited_until if limited else None,
            "fetched_day": info.get("fetched_day", 0), "fetched_month": info.get("fetched_month", 0),
            "runs_day": info.get("runs_day", 0), "quota": quota,
            "quota_share": info.get("fetched_month", 0) / quota if quota else None,
            "checkpoints": info.get("checkpoints", 0), "checkpoint_at": info.get("checkpoint_at"),
        })
    return st.pages.render(request, "sumber.html", viewer=who, nav="sumber", rows=rows, now=now)

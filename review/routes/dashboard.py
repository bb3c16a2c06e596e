"""Ringkasan (`/ringkasan`): counts per day by substance, agency and maladministration, spikes,
and the service KPIs. The figures of one period are computed at most once a minute per process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from triage.taxonomy import display

from ..charts import bars
from ..deps import LoggedIn, state
from ..render import MONTHS
from ..summary import daily_counts, queue_counts, service_kpis, spikes, window

router = APIRouter(include_in_schema=False)

PERIODS = (7, 14, 30)
TOP = 12
CACHE_SECONDS = 60.0  # the figures scan a month of posts: many staff opening the page at once
_lock = threading.Lock()


def _cached(cache: dict, key: tuple, compute: Callable[[], tuple]) -> tuple:
    """One computation per key and minute, shared by the requests of one app."""
    with _lock:
        hit = cache.get(key)
        if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
    value = compute()
    with _lock:
        if len(cache) > 64:
            cache.clear()
        cache[key] = (time.monotonic(), value)
    return value


def _table(counts: dict, days: list, name_of) -> list[dict]:  # noqa: ANN001
    keys = [d.isoformat() for d in days]
    rows = []
    for value, per_day in counts.items():
        series = [per_day.get(k, 0) for k in keys]
        rows.append({"name": name_of(value), "value": value, "series": series, "total": sum(series),
                     "bars": bars(series)})
    rows.sort(key=lambda x: (-x["total"], x["name"]))
    return rows[:TOP]


@router.get("/ringkasan", response_class=HTMLResponse)
def summary(request: Request, who: LoggedIn) -> Response:
    st = state(request)
    errors = []
    try:
        period = int(request.query_params.get("hari", "7"))
    except ValueError:
        period = 0
    if period not in PERIODS:
        errors.append("Periode tidak dikenal: pilih 7, 14 atau 30 hari.")
        period = 7
    kind = request.query_params.get("jenis", "aduan")
    if kind not in ("aduan", "semua"):
        errors.append("Jenis tidak dikenal: pilih aduan atau semua unggahan.")
        kind = "aduan"
    now = st.ctx.clock()
    days, start, end = window(period, now)
    registry = st.ctx.registry
    only = None if kind == "semua" else kind

    def agency_name(agency_id: str | None) -> str:
        agency = registry.by_id.get(agency_id) if agency_id else None
        return agency.name if agency else "Tanpa instansi"

    def compute() -> tuple:
        with st.ctx.engine.connect() as conn:
            return (daily_counts(conn, start, end, only), spikes(conn, now),
                    service_kpis(conn, start, end, now), queue_counts(conn))

    minute = now.replace(second=0, microsecond=0)
    counts, found, kpis, queue = _cached(st.cache, (period, kind, minute), compute)
    found = [dict(spike) for spike in found]
    tables = {
        "Substansi": _table(counts["substance"], days, display),
        "Instansi": _table(counts["agency_id"], days, agency_name),
        "Maladministrasi": _table(counts["maladministration"], days, display),
    }
    for spike in found:
        spike["agency"] = agency_name(spike["agency_id"])
    labels = [f"{d.day} {MONTHS[d.month - 1]}" for d in days]
    return st.pages.render(request, "ringkasan.html", status=400 if errors else 200, viewer=who,
                           nav="ringkasan", tables=tables, day_labels=labels, spikes=found,
                           kpis=kpis, queue=queue, period=period, periods=PERIODS, kind=kind,
                           errors=errors, now=now)

"""Volume spikes per agency from the store: hourly counts in SQL, k-sigma judgement in
`triage.spikes`. Shown by `pantau status` and on the review page's ringkasan."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, select

from pipelines.store import schema as s
from triage.spikes import DEFAULT_K, DEFAULT_WINDOW, agency_spikes, floor_hour, hourly_counts

WIB = timezone(timedelta(hours=7), "WIB")  # hours are shown in Western Indonesian Time


def recent_spikes(
    conn: Connection, now: datetime, *, hours: int = 24, k: float = DEFAULT_K
) -> list[dict[str, Any]]:
    """Spike hours of the last `hours`, judged against each agency's previous week."""
    end = floor_hour(now)
    start = end - timedelta(hours=DEFAULT_WINDOW + hours - 1)
    p, tr = s.posts, s.triage_results
    times: dict[str, list[datetime]] = defaultdict(list)
    rows = conn.execute(select(tr.c.agency_id, p.c.created_at).select_from(tr.join(p, p.c.id == tr.c.post_pk))
                        .where(p.c.created_at >= start, p.c.created_at <= now, tr.c.agency_id.is_not(None)))
    for agency_id, created_at in rows:
        times[agency_id].append(created_at)
    total = DEFAULT_WINDOW + hours
    series = {agency: hourly_counts(ts, start=start, hours=total) for agency, ts in times.items()}
    found = []
    for agency, spikes in agency_spikes(series, start=start, k=k).items():
        for spike in spikes:
            if spike.index < total - hours:
                continue  # older than the reporting window
            found.append({"agency_id": agency, "hour": spike.start.astimezone(WIB).strftime("%Y-%m-%d %H"),
                          "count": spike.count, "usual": round(spike.baseline, 2),
                          "ratio": round(spike.count / max(spike.baseline, 0.1), 1),
                          "z": round(spike.z, 1)})
    found.sort(key=lambda x: (-x["z"], x["hour"]))
    return found[:20]

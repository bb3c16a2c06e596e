"""Volume spikes per agency: posts per hour against the agency's own baseline, k sigma (pure).

An hour is a spike when its count exceeds the mean of the `window` hours before it by more
than `k` standard deviations, and reaches `min_count`. The standard deviation is floored at
the Poisson value sqrt(mean) (and at `min_sigma`), so a quiet agency whose history is all
zeros does not call two posts a spike. Hours before `min_history` hours of history are not
judged. The pipeline counts posts per agency and hour (from the database) and records what
`detect_spikes` returns (pipelines/spikes.py); `pantau status` and the review page show them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

DEFAULT_K = 3.0
DEFAULT_WINDOW = 168  # hours of history: one week
MIN_HISTORY = 24  # hours of history before an hour is judged
MIN_COUNT = 5  # fewer posts than this in an hour is never a spike
MIN_SIGMA = 1.0


@dataclass(frozen=True, slots=True)
class Spike:
    index: int  # position of the hour in the series
    start: datetime | None  # start of the hour (UTC), when the series' start was given
    count: int  # posts in that hour
    baseline: float  # mean posts/hour over the window before it
    sigma: float  # the standard deviation used (floored)
    z: float  # (count - baseline) / sigma

    def to_dict(self) -> dict:
        return {"index": self.index,
                "start": self.start.strftime("%Y-%m-%dT%H:%M:%SZ") if self.start else None,
                "count": self.count, "baseline": round(self.baseline, 2),
                "sigma": round(self.sigma, 2), "z": round(self.z, 2)}


def floor_hour(moment: datetime) -> datetime:
    moment = moment.astimezone(timezone.utc)
    return moment.replace(minute=0, second=0, microsecond=0)


def hourly_counts(times: Iterable[datetime], *, start: datetime, hours: int) -> list[int]:
    """Posts per hour from `start` (floored to the hour) for `hours` hours; others ignored."""
    origin = floor_hour(start)
    counts = [0] * hours
    for moment in times:
        i = int((moment - origin).total_seconds() // 3600)
        if 0 <= i < hours:
            counts[i] += 1
    return counts


def baseline_stats(history: Sequence[float], *, min_sigma: float = MIN_SIGMA) -> tuple[float, float]:
    """(mean, floored standard deviation) of an hourly history."""
    n = len(history)
    if n == 0:
        return 0.0, min_sigma
    mean = sum(history) / n
    var = sum((x - mean) ** 2 for x in history) / n
    return mean, max(math.sqrt(var), math.sqrt(mean), min_sigma)


def _judge(i: int, count: int, mean: float, sigma: float, k: float, min_count: int,
           start: datetime | None) -> Spike | None:
    z = (count - mean) / sigma
    if count >= min_count and z > k:
        return Spike(i, start + timedelta(hours=i) if start else None, count, mean, sigma, z)
    return None


def detect_spikes(
    counts: Sequence[int],
    *,
    k: float = DEFAULT_K,
    window: int = DEFAULT_WINDOW,
    min_history: int = MIN_HISTORY,
    min_count: int = MIN_COUNT,
    min_sigma: float = MIN_SIGMA,
    start: datetime | None = None,
) -> list[Spike]:
    """Every spike hour of an hourly series (one pass, running sums over the window)."""
    origin = floor_hour(start) if start else None
    spikes: list[Spike] = []
    total = total_sq = 0.0
    for i, count in enumerate(counts):
        n = min(i, window)
        if n >= min_history:
            mean = total / n
            var = max(total_sq / n - mean * mean, 0.0)
            sigma = max(math.sqrt(var), math.sqrt(mean), min_sigma)
            spike = _judge(i, count, mean, sigma, k, min_count, origin)
            if spike:
                spikes.append(spike)
        total += count
        total_sq += count * count
        if i >= window:
            old = counts[i - window]
            total -= old
            total_sq -= old * old
    return spikes


def agency_spikes(
    counts_by_agency: Mapping[str, Sequence[int]],
    *,
    start: datetime | None = None,
    **kwargs: float,
) -> dict[str, list[Spike]]:
    """`detect_spikes` for each agency's hourly series; agencies without spikes are left out."""
    out = {}
    for agency, counts in counts_by_agency.items():
        found = detect_spikes(counts, start=start, **kwargs)  # type: ignore[arg-type]
        if found:
            out[agency] = found
    return out

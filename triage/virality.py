"""Virality from metric snapshots: velocity, acceleration, ratio to the agency's baseline, forecast.

Pure: snapshots and `now` in, a `Virality` out. "Viral" means unusual for the agency (the ratio
of the post's engagement velocity to the agency's rolling baseline), not just big.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from triage.records import MetricSnapshot

MIN_AGE_HOURS = 0.25  # younger posts are measured as if 15 minutes old, to tame early noise
DEFAULT_BASELINE_EPH = 2.0  # engagement/hour of an ordinary post, when no history exists yet
FORECAST_HORIZON_HOURS = 24.0
# Szabo-Huberman-style growth exponent: E(24h) ~ E(t) * (24/t)^GROWTH_EXPONENT for t < 24h.
GROWTH_EXPONENT = 0.45
FORECAST_SPREAD = 2.0  # the interval is forecast / spread .. forecast * spread


@dataclass(frozen=True, slots=True)
class Forecast:
    engagement: float  # expected engagement 24 h after creation
    low: float
    high: float
    method: str

    def to_dict(self) -> dict:
        return {"engagement": round(self.engagement, 1), "low": round(self.low, 1),
                "high": round(self.high, 1), "method": self.method}


@dataclass(frozen=True, slots=True)
class Virality:
    score: float  # 0-100
    engagement: int  # latest reposts + quotes + replies + likes (+ Reddit score)
    engagement_per_hour: float  # recent velocity
    acceleration: float  # change of velocity per hour between the last two intervals
    baseline_ratio: float  # velocity / the agency's baseline velocity
    forecast: Forecast | None
    components: dict[str, float] = field(default_factory=dict)  # what made the score

    def to_dict(self) -> dict:
        return {
            "score": round(self.score, 1),
            "engagement": self.engagement,
            "engagement_per_hour": round(self.engagement_per_hour, 2),
            "acceleration": round(self.acceleration, 3),
            "baseline_ratio": round(self.baseline_ratio, 2),
            "forecast_24h": self.forecast.to_dict() if self.forecast else None,
            "components": {k: round(v, 3) for k, v in self.components.items()},
        }


def _hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600.0


def velocity(created_at: datetime, snapshots: Sequence[MetricSnapshot]) -> tuple[float, float]:
    """(engagement per hour over the latest interval, acceleration per hour)."""
    points = [(max(_hours(created_at, s.at), 0.0), s.engagement) for s in snapshots]
    points = [(0.0, 0)] + [p for p in points if p[0] > 0]
    if len(points) == 1:
        return 0.0, 0.0
    (t1, e1), (t2, e2) = points[-2], points[-1]
    v2 = max(e2 - e1, 0) / max(t2 - t1, MIN_AGE_HOURS)
    if len(points) < 3:
        return v2, 0.0
    t0, e0 = points[-3]
    v1 = max(e1 - e0, 0) / max(t1 - t0, MIN_AGE_HOURS)
    return v2, (v2 - v1) / max((t2 - t0) / 2, MIN_AGE_HOURS)


def forecast_24h(created_at: datetime, snapshots: Sequence[MetricSnapshot]) -> Forecast | None:
    """Engagement expected at 24 h, from the latest snapshot (power-law growth in age)."""
    if not snapshots:
        return None
    last = snapshots[-1]
    age = max(_hours(created_at, last.at), MIN_AGE_HOURS)
    if age >= FORECAST_HORIZON_HOURS:
        value = float(last.engagement)
        return Forecast(value, value, value, "observed")
    value = (last.engagement + 1) * (FORECAST_HORIZON_HOURS / age) ** GROWTH_EXPONENT - 1
    return Forecast(value, max(value / FORECAST_SPREAD, last.engagement), value * FORECAST_SPREAD,
                    "power-law")


def _squash(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def score_virality(
    created_at: datetime,
    snapshots: Sequence[MetricSnapshot],
    *,
    followers: int | None,
    baseline_eph: float | None,
    now: datetime,
) -> Virality:
    """Virality of one post at `now` from its snapshots (ordered by time)."""
    snaps = [s for s in snapshots if s.at <= now]
    engagement = snaps[-1].engagement if snaps else 0
    eph, accel = velocity(created_at, snaps)
    baseline = max(baseline_eph or DEFAULT_BASELINE_EPH, 0.1)
    ratio = eph / baseline
    forecast = forecast_24h(created_at, snaps)
    predicted = forecast.engagement if forecast else 0.0
    speed = _squash(math.log2(ratio + 0.01) - 1.5) if eph > 0 else 0.0  # ~0.5 at 2.8x baseline
    size = min(math.log10(1.0 + predicted) / 4.0, 1.0)  # 1.0 at 10,000 engagements in 24 h
    reach = min(math.log10(1.0 + (followers or 0)) / 6.0, 1.0)  # 1.0 at a million followers
    score = 100.0 * (0.55 * speed + 0.35 * size + 0.10 * reach)
    return Virality(
        score=max(0.0, min(100.0, score)),
        engagement=engagement,
        engagement_per_hour=eph,
        acceleration=accel,
        baseline_ratio=ratio,
        forecast=forecast,
        components={"speed": speed, "size": size, "reach": reach},
    )

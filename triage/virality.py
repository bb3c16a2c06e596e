"""Virality from metric snapshots: velocity, acceleration, ratio to the agency's baseline, forecast.

Pure: snapshots and `now` in, a `Virality` out. "Viral" means unusual for the agency (the ratio
of the post's engagement velocity to the agency's rolling baseline), not just big. The baseline
is passed in: the pipeline keeps recent velocities per agency (and substance) and reduces them
with `baseline_from_history`.

The score (0-100) is a weighted sum of four components, each 0..1, kept in `components`:

* speed (0.40): current velocity against the baseline, 0.5 at 2.8x the agency's usual rate;
* outlook (0.25): the forecast's average rate over the rest of the first 24 h against the
  baseline, on the same scale (what is still to come);
* size (0.25): log10 of the forecast 24 h engagement / 4 (1.0 at 10,000);
* reach (0.10): log10 of the author's followers / 6 (1.0 at a million).

The forecast comes from a trained `Forecaster` (triage.forecast) when one is passed, otherwise
from a power law in age (the Szabo-Huberman idea with a fixed exponent).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from triage.forecast import HORIZON_HOURS, Forecast, Forecaster
from triage.records import MetricSnapshot

__all__ = [
    "DEFAULT_BASELINE_EPH", "MIN_BASELINE_EPH", "Forecast", "Virality", "baseline_from_history",
    "forecast_24h", "score_virality", "velocity",
]  # fmt: skip

MIN_AGE_HOURS = 0.25  # younger posts are measured as if 15 minutes old, to tame early noise
DEFAULT_BASELINE_EPH = 2.0  # engagement/hour of an ordinary post, when no history exists yet
MIN_BASELINE_EPH = 0.5  # floor of a baseline: quiet agencies do not make every reply "viral"
MIN_HISTORY = 5  # fewer velocities than this and the baseline is the default
FORECAST_HORIZON_HOURS = HORIZON_HOURS
# Power-law fallback: E(24h) ~ E(t) * (24/t)^GROWTH_EXPONENT for t < 24h.
GROWTH_EXPONENT = 0.45
FORECAST_SPREAD = 2.0  # the fallback's interval is forecast / spread .. forecast * spread
WEIGHTS = {"speed": 0.40, "outlook": 0.25, "size": 0.25, "reach": 0.10}


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


def baseline_from_history(
    velocities: Sequence[float],
    *,
    floor: float = MIN_BASELINE_EPH,
    default: float = DEFAULT_BASELINE_EPH,
    min_count: int = MIN_HISTORY,
) -> float:
    """An agency's usual engagement/hour from its recent posts' velocities: the median, floored.

    The median ignores the few viral posts that would inflate a mean; the floor keeps an agency
    whose posts get no engagement at all from calling every second like "viral". With fewer
    than `min_count` finite values, the default.
    """
    values = [float(v) for v in velocities if v is not None and math.isfinite(v) and v >= 0]
    if len(values) < min_count:
        return max(default, floor)
    return max(statistics.median(values), floor)


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
    """Fallback forecast: engagement at 24 h from the latest snapshot (power-law growth in age)."""
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


def _against_baseline(rate: float, baseline: float) -> float:
    """0..1, 0.5 at 2.8x the baseline, 0.73 at 5.7x, 0.92 at 16x."""
    return _squash(math.log2(rate / baseline + 0.01) - 1.5) if rate > 0 else 0.0


def score_virality(
    created_at: datetime,
    snapshots: Sequence[MetricSnapshot],
    *,
    followers: int | None,
    baseline_eph: float | None,
    now: datetime,
    forecaster: Forecaster | None = None,
) -> Virality:
    """Virality of one post at `now` from its snapshots (those after `now` are ignored)."""
    snaps = sorted((s for s in snapshots if s.at <= now), key=lambda s: s.at)
    engagement = snaps[-1].engagement if snaps else 0
    eph, accel = velocity(created_at, snaps)
    baseline = max(baseline_eph or DEFAULT_BASELINE_EPH, 0.1)
    ratio = eph / baseline
    forecast = None
    if forecaster is not None:
        forecast = forecaster.forecast(created_at, snaps, followers=followers, now=now)
    if forecast is None:
        forecast = forecast_24h(created_at, snaps)
    predicted = forecast.engagement if forecast else 0.0
    age = max(_hours(created_at, snaps[-1].at), MIN_AGE_HOURS) if snaps else 0.0
    remaining = max(FORECAST_HORIZON_HOURS - age, 0.0)
    future_rate = max(predicted - engagement, 0.0) / max(remaining, 1.0) if remaining > 0 else 0.0
    components = {
        "speed": _against_baseline(eph, baseline),
        "outlook": _against_baseline(future_rate, baseline),
        "size": min(math.log10(1.0 + max(predicted, 0.0)) / 4.0, 1.0),
        "reach": min(math.log10(1.0 + max(followers or 0, 0)) / 6.0, 1.0),
    }
    score = 100.0 * sum(WEIGHTS[k] * v for k, v in components.items())
    return Virality(
        score=max(0.0, min(100.0, score)),
        engagement=engagement,
        engagement_per_hour=eph,
        acceleration=accel,
        baseline_ratio=ratio,
        forecast=forecast,
        components=components,
    )

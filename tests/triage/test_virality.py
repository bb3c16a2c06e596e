"""Virality: velocity, the agency baseline, the score and its components."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from triage.forecast import FEATURE_NAMES, Forecaster
from triage.records import MetricSnapshot
from triage.virality import (
    DEFAULT_BASELINE_EPH,
    MIN_BASELINE_EPH,
    WEIGHTS,
    baseline_from_history,
    score_virality,
    velocity,
)

T0 = datetime(2026, 11, 22, 1, 0, tzinfo=timezone.utc)


def snap(minutes: float, engagement: int, **extra: int) -> MetricSnapshot:
    return MetricSnapshot(at=T0 + timedelta(minutes=minutes), likes=engagement, **extra)


def test_baseline_is_a_floored_median_of_recent_velocities() -> None:
    assert baseline_from_history([1.0, 2.0, 3.0, 4.0, 500.0]) == 3.0  # one viral post ignored
    assert baseline_from_history([0.0] * 10) == MIN_BASELINE_EPH
    assert baseline_from_history([5.0, 6.0]) == DEFAULT_BASELINE_EPH  # too little history
    assert baseline_from_history([math.nan, -1.0, 4, 4, 4, 4, 4]) == 4.0
    assert baseline_from_history([], default=7.0) == 7.0


def test_velocity_is_the_latest_interval_and_acceleration_its_change() -> None:
    eph, accel = velocity(T0, [snap(30, 10), snap(60, 40)])
    assert eph == pytest.approx(60.0)  # 30 engagements in half an hour
    assert accel == pytest.approx((60.0 - 20.0) / 0.5)
    assert velocity(T0, []) == (0.0, 0.0)
    assert velocity(T0, [snap(120, 10)]) == (pytest.approx(5.0), 0.0)


def test_score_rises_with_speed_against_the_agency_baseline() -> None:
    snaps = [snap(30, 20), snap(60, 60)]
    now = T0 + timedelta(hours=1)
    quiet_agency = score_virality(T0, snaps, followers=500, baseline_eph=2.0, now=now)
    busy_agency = score_virality(T0, snaps, followers=500, baseline_eph=200.0, now=now)
    assert quiet_agency.baseline_ratio == pytest.approx(40.0)
    assert quiet_agency.score > busy_agency.score
    assert 0 <= busy_agency.score < quiet_agency.score <= 100


def test_components_explain_the_score() -> None:
    v = score_virality(T0, [snap(30, 20), snap(60, 60)], followers=10_000, baseline_eph=2.0,
                       now=T0 + timedelta(hours=1))
    assert set(v.components) == set(WEIGHTS)
    assert all(0.0 <= c <= 1.0 for c in v.components.values())
    assert v.score == pytest.approx(100 * sum(WEIGHTS[k] * c for k, c in v.components.items()))
    d = v.to_dict()
    assert d["forecast_24h"]["method"] == "power-law" and d["engagement"] == 60


def test_snapshots_after_now_are_ignored() -> None:
    snaps = [snap(30, 5), snap(600, 5000)]
    v = score_virality(T0, snaps, followers=None, baseline_eph=None, now=T0 + timedelta(hours=1))
    assert v.engagement == 5


def test_a_post_without_snapshots_scores_on_reach_alone() -> None:
    v = score_virality(T0, [], followers=1_000_000, baseline_eph=2.0, now=T0 + timedelta(hours=1))
    assert v.forecast is None and v.engagement == 0
    assert v.score == pytest.approx(100 * WEIGHTS["reach"], rel=1e-3)


def test_reddit_score_and_comments_count_as_engagement() -> None:
    snaps = [MetricSnapshot(at=T0 + timedelta(hours=1), score=120, replies=30)]
    v = score_virality(T0, snaps, followers=None, baseline_eph=2.0, now=T0 + timedelta(hours=1))
    assert v.engagement == 150 and v.engagement_per_hour == pytest.approx(150.0)


def test_a_forecaster_passed_in_makes_the_forecast() -> None:
    doc = {
        "format": "pantau.virality-forecaster/1", "version": "t", "features": list(FEATURE_NAMES),
        "base": 2.0, "trees": [],
        "interval": {"age_edges": [round(0.125 * 2 ** (k / 2), 4) for k in range(16)],
                     "engagement_edges": [1, 3, 10, 50], "quantiles": [[[-0.3, 0.3]] * 5] * 17},
        "szabo_huberman": {"age_edges": [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0], "coef": [[0, 1]] * 8},
    }
    forecaster = Forecaster.from_dict(doc)
    now = T0 + timedelta(hours=1)
    v = score_virality(T0, [snap(60, 30)], followers=None, baseline_eph=2.0, now=now,
                       forecaster=forecaster)
    assert v.forecast.method == "gbt:t"
    assert v.forecast.engagement == pytest.approx(math.expm1(math.log1p(30) + 2.0))
    plain = score_virality(T0, [snap(60, 30)], followers=None, baseline_eph=2.0, now=now)
    assert v.components["outlook"] > plain.components["outlook"]  # e^2 growth beats the power law's 4.2x

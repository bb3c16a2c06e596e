"""The 24 h forecast: features, the exported trees, the baseline and the shipped artifact."""

from __future__ import annotations

import json
import math
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from triage.forecast import (
    FEATURE_NAMES,
    Forecaster,
    ForecastModelError,
    SzaboHuberman,
    _tree_value,
    export_hist_gradient_boosting,
    observe,
)
from triage.records import MetricSnapshot
from triage.simulate import CascadeParams, simulate_cascades, snapshot_schedule

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 22, 1, 0, tzinfo=timezone.utc)  # 08:00 WIB
N = len(FEATURE_NAMES)


def snap(minutes: float, *, reposts=0, quotes=0, replies=0, likes=0, score=None) -> MetricSnapshot:
    return MetricSnapshot(at=T0 + timedelta(minutes=minutes), reposts=reposts, quotes=quotes,
                          replies=replies, likes=likes, score=score)


def stump(feature: int, threshold: float, left: float, right: float, missing_left: bool = True):
    """A one-split tree in the artifact's array form."""
    return [[feature, -1, -1], [threshold, 0.0, 0.0], [1, 0, 0], [2, 0, 0], [0.0, left, right],
            [missing_left, False, False]]


def toy_dict(trees=None, base=0.5) -> dict:
    quantiles = [[[-0.5, 0.7]] * 5 for _ in range(17)]
    return {
        "format": "pantau.virality-forecaster/1", "version": "toy", "features": list(FEATURE_NAMES),
        "base": base, "trees": trees if trees is not None else [stump(0, 2.0, 0.0, 0.3)],
        "interval": {"age_edges": [round(0.125 * 2 ** (k / 2), 4) for k in range(16)],
                     "engagement_edges": [1, 3, 10, 50], "quantiles": quantiles},
        "szabo_huberman": {"age_edges": [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0],
                           "coef": [[0.5, 1.0]] * 8},
        "metadata": {},
    }


def test_observe_reads_counts_speed_and_history() -> None:
    snaps = [snap(15, reposts=2, likes=8), snap(30, reposts=5, likes=15), snap(60, reposts=9, likes=31)]
    obs = observe(T0, snaps, followers=1000, now=T0 + timedelta(hours=2))
    f = dict(zip(FEATURE_NAMES, obs.features, strict=True))
    assert obs.age_hours == pytest.approx(1.0) and obs.engagement == 40
    assert f["log_eng"] == pytest.approx(math.log1p(40))
    assert f["log_eng_half"] == pytest.approx(math.log1p(20))  # the snapshot at 30 min
    assert f["log_followers"] == pytest.approx(math.log1p(1000))
    assert f["log_shares"] == pytest.approx(math.log1p(9))
    assert f["last_gap"] == pytest.approx(0.5)
    # 08:00 WIB is a quarter of the day: sin(pi/2) = 1.
    assert f["sin_created"] == pytest.approx(math.sin(2 * math.pi * 8 / 24))


def test_observe_marks_missing_history_followers_and_reposts_as_nan() -> None:
    obs = observe(T0, [snap(60, likes=10)], followers=None, now=T0 + timedelta(hours=1))
    f = dict(zip(FEATURE_NAMES, obs.features, strict=True))
    assert math.isnan(f["log_eng_half"]) and math.isnan(f["log_followers"])
    reddit = observe(T0, [MetricSnapshot(at=T0 + timedelta(hours=1), score=40, replies=3)],
                     followers=None, now=T0 + timedelta(hours=1))
    assert reddit.engagement == 43
    assert math.isnan(dict(zip(FEATURE_NAMES, reddit.features, strict=True))["share_frac"])


def test_observe_ignores_snapshots_after_now_and_needs_one() -> None:
    snaps = [snap(30, likes=3), snap(90, likes=50)]
    assert observe(T0, snaps, followers=1, now=T0 + timedelta(hours=1)).engagement == 3
    assert observe(T0, snaps, followers=1, now=T0 + timedelta(minutes=10)) is None
    assert observe(T0, [], followers=1, now=T0) is None


def test_compiled_trees_equal_walking_them_including_nan() -> None:
    rng = random.Random(3)
    trees = [stump(i % N, rng.uniform(-1, 2), rng.uniform(-1, 1), rng.uniform(-1, 1), i % 2 == 0)
             for i in range(40)]
    forecaster = Forecaster.from_dict(toy_dict(trees, base=0.1))
    for _ in range(200):
        x = [rng.uniform(-2, 3) if rng.random() > 0.2 else math.nan for _ in range(N)]
        walked = 0.1 + sum(_tree_value(t, x) for t in forecaster.trees)
        assert forecaster.predict_log_growth(x) == pytest.approx(walked, abs=1e-12)


def test_forecast_is_at_least_current_engagement_and_brackets_it() -> None:
    forecaster = Forecaster.from_dict(toy_dict([stump(0, 2.0, 0.0, 0.3)], base=-5.0))
    f = forecaster.forecast(T0, [snap(60, likes=30)], followers=10, now=T0 + timedelta(hours=1))
    assert f.engagement == 30 and f.low <= f.engagement <= f.high  # negative growth is clipped
    grow = Forecaster.from_dict(toy_dict([stump(0, 2.0, 0.0, 0.3)], base=0.5))
    g = grow.forecast(T0, [snap(60, likes=30)], followers=10, now=T0 + timedelta(hours=1))
    assert g.engagement == pytest.approx(math.expm1(math.log1p(30) + 0.8))
    assert 30 <= g.low < g.engagement < g.high and g.method == "gbt:toy"


def test_forecast_of_a_day_old_post_is_what_was_observed() -> None:
    forecaster = Forecaster.from_dict(toy_dict())
    f = forecaster.forecast(T0, [snap(25 * 60, likes=7)], followers=10, now=T0 + timedelta(days=2))
    assert (f.engagement, f.low, f.high, f.method) == (7, 7, 7, "observed")


def test_forecaster_round_trips_and_refuses_foreign_documents() -> None:
    forecaster = Forecaster.from_dict(toy_dict())
    again = Forecaster.from_json(json.dumps(forecaster.to_dict()))
    x = [0.5] * N
    assert again.predict_log_growth(x) == forecaster.predict_log_growth(x)
    with pytest.raises(ForecastModelError):
        Forecaster.from_dict({**toy_dict(), "format": "other/1"})
    with pytest.raises(ForecastModelError):
        Forecaster.from_dict({**toy_dict(), "features": ["log_eng"]})
    with pytest.raises(ForecastModelError):
        Forecaster.from_json(b"{not json")


def test_szabo_huberman_fit_recovers_a_log_linear_law() -> None:
    rng = np.random.default_rng(0)
    ages = rng.uniform(0.6, 0.9, 500)  # one bucket: [0.5, 1)
    x = rng.uniform(0, 6, 500)
    model = SzaboHuberman.fit(ages, x, 0.7 + 1.1 * x)
    assert model.coef[2] == pytest.approx((0.7, 1.1), abs=1e-9)
    assert model.coef[0] == (0.0, 1.0)  # too few points: identity
    assert SzaboHuberman.from_dict(model.to_dict()) == model


def test_export_of_sklearn_trees_reproduces_its_predictions() -> None:
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, N))
    X[rng.random((600, N)) < 0.1] = np.nan
    y = np.nan_to_num(X[:, 0]) * 0.5 + np.nan_to_num(X[:, 3]) ** 2
    model = HistGradientBoostingRegressor(max_iter=15, random_state=0).fit(X, y)
    base, trees = export_hist_gradient_boosting(model)
    doc = toy_dict([[list(part) for part in t] for t in trees], base=base)
    ours = Forecaster.from_dict(doc)
    assert np.allclose([ours.predict_log_growth(list(x)) for x in X[:100]], model.predict(X[:100]))


def test_simulation_is_seeded_and_counts_only_grow() -> None:
    a = simulate_cascades(30, seed=5)
    b = simulate_cascades(30, seed=5)
    assert [c.engagement() for c in a] == [c.engagement() for c in b]
    assert [c.created_at for c in a] == [c.created_at for c in b]
    for c in a:
        counts = [c.engagement(h) for h in (0.25, 1, 6, 24)]
        assert counts == sorted(counts)
        snaps = c.snapshots(snapshot_schedule(np.random.default_rng(1), 1.0))
        assert snaps[-1].at == c.created_at + timedelta(hours=1)
    assert simulate_cascades(5, seed=6, params=CascadeParams(root_rate=0.0))[0].engagement() == 0


def _shipped() -> Forecaster:
    folder = REPO / "models" / "virality"
    versions = sorted(p for p in folder.iterdir() if (p / "forecaster.json").is_file())
    assert versions, "no shipped forecaster under models/virality/"
    meta = json.loads((versions[-1] / "metadata.json").read_text())
    assert meta["name"] == "virality" and meta["version"] == versions[-1].name
    return Forecaster.from_json((versions[-1] / "forecaster.json").read_bytes())


def test_shipped_forecaster_grows_young_posts_more_than_old_ones() -> None:
    forecaster = _shipped()
    young = forecaster.forecast(T0, [snap(15, reposts=5, likes=25)], followers=2000,
                                now=T0 + timedelta(minutes=15))
    old = forecaster.forecast(T0, [snap(12 * 60, reposts=5, likes=25)], followers=2000,
                              now=T0 + timedelta(hours=12))
    assert young.engagement > old.engagement >= 30
    assert young.low <= young.engagement <= young.high
    bigger = forecaster.forecast(T0, [snap(15, reposts=50, likes=250)], followers=2000,
                                 now=T0 + timedelta(minutes=15))
    assert bigger.engagement > young.engagement

"""Forecast of a post's engagement 24 hours after creation, with an interval (pure).

Two models share one feature extraction from whatever snapshots exist so far:

* `SzaboHuberman`: the baseline. Per bucket of the post's age, log1p(E24) = a + b*log1p(E(t))
  (Szabo & Huberman, CACM 2010), fitted by least squares.
* `Forecaster`: gradient-boosted trees (trained with scikit-learn's HistGradientBoosting, then
  exported) predicting the log growth log1p(E24) - log1p(E(t)) from log counts, the age, the
  speed over the latest interval and over the second half of the post's life, the share of
  reposts and quotes, the author's followers and the hour of day in WIB. The interval is the
  10th..90th percentile of held-out log errors, per bucket of age (interpolated) and of current
  engagement. `doubling_score` ranks posts by how far the forecast lies above twice the
  current engagement (in log1p units, where the errors are about even).

Both are plain data (`to_dict` / `from_dict`, JSON-serialisable) and evaluate in pure Python
(about 30 microseconds a post), so triage needs neither scikit-learn nor a file: the pipeline
reads models/virality/<version>/forecaster.json and passes the dict in.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from triage.errors import PantauError
from triage.records import MetricSnapshot

HORIZON_HOURS = 24.0
MIN_AGE_HOURS = 1.0 / 60.0  # a snapshot taken in the first minute is read as one minute old
WIB = timezone(timedelta(hours=7))
FORMAT = "pantau.virality-forecaster/1"
AGE_EDGES = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)  # Szabo-Huberman's age buckets (hours)
# The interval table: finer age buckets (interpolated in log-age between their centres) by
# current-engagement buckets.
INTERVAL_AGE_EDGES = tuple(round(0.125 * 2 ** (k / 2), 4) for k in range(16))  # 0.125 .. 22.6 h
ENGAGEMENT_EDGES = (1, 3, 10, 50)
FEATURE_NAMES = (
    "log_eng",  # log1p(E(t)), E = reposts + quotes + replies + likes (+ Reddit score)
    "log_age",  # log(age in hours)
    "log_eng_half",  # log1p(E(t/2)) interpolated; NaN without a snapshot before 0.75 t
    "recent_rate",  # log1p(rate over the latest interval * t) - log1p(E): >0 speeding up
    "last_gap",  # length of the latest interval / t
    "log_followers",  # log1p(author followers); NaN when unknown
    "sin_created", "cos_created", "sin2_created", "cos2_created",  # hour of creation, WIB
    "sin_now", "cos_now",  # hour of the latest snapshot, WIB
    "share_frac",  # (reposts + quotes + 0.5) / (E + 1); NaN when the platform has no reposts
    "log_shares",  # log1p(reposts + quotes)
    "log_shares_half",  # log1p(shares in the second half of the post's life); NaN w/o history
    "log_replies",  # log1p(replies)
    "log_shares_last",  # log1p(shares in the latest interval)
)  # fmt: skip
NAN = float("nan")


class ForecastModelError(PantauError):
    """A forecaster artifact is malformed or of an unknown format."""


@dataclass(frozen=True, slots=True)
class Forecast:
    engagement: float  # expected engagement 24 h after creation
    low: float  # lower end of the interval (10th percentile for the trained model)
    high: float  # upper end (90th percentile)
    method: str  # "observed", "power-law", "szabo-huberman" or "gbt:<version>"

    def to_dict(self) -> dict:
        return {"engagement": round(self.engagement, 1), "low": round(self.low, 1),
                "high": round(self.high, 1), "method": self.method}


def _hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600.0


def _shares(s: MetricSnapshot) -> int | None:
    if s.reposts is None and s.quotes is None:
        return None
    return (s.reposts or 0) + (s.quotes or 0)


def _interp(x: float, xs: Sequence[float], ys: Sequence[float]) -> float:
    i = bisect.bisect_left(xs, x)
    if i <= 0:
        return float(ys[0])
    if i >= len(xs):
        return float(ys[-1])
    x0, x1 = xs[i - 1], xs[i]
    return ys[i - 1] + (ys[i] - ys[i - 1]) * (x - x0) / (x1 - x0) if x1 > x0 else float(ys[i])


def _hour_angle(moment: datetime) -> float:
    local = moment.astimezone(WIB)
    return (local.hour + local.minute / 60.0) / 24.0 * 2.0 * math.pi


@dataclass(frozen=True, slots=True)
class Observation:
    """What the snapshots say at the latest one: the forecasters' input."""

    age_hours: float  # age of the latest snapshot (>= MIN_AGE_HOURS)
    engagement: int  # engagement at that snapshot
    features: tuple[float, ...]  # FEATURE_NAMES, in order


def observe(
    created_at: datetime,
    snapshots: Sequence[MetricSnapshot],
    *,
    followers: int | None,
    now: datetime,
) -> Observation | None:
    """Features from the snapshots taken up to `now`, or None when there are none."""
    snaps = [s for s in snapshots if s.at <= now and s.at >= created_at]
    if not snaps:
        return None
    snaps.sort(key=lambda s: s.at)
    ages = [max(_hours(created_at, s.at), MIN_AGE_HOURS) for s in snaps]
    engs = [s.engagement for s in snaps]
    last = snaps[-1]
    t, e = ages[-1], engs[-1]
    shares = [_shares(s) for s in snaps]
    has_shares = shares[-1] is not None
    sh = [v or 0 for v in shares]
    prev = len(ages) - 2
    while prev >= 0 and ages[prev] >= t:
        prev -= 1
    tp, ep, sp = (ages[prev], engs[prev], sh[prev]) if prev >= 0 else (0.0, 0, 0)
    history = prev >= 0 and ages[0] <= 0.75 * t
    xs, ys, ss = [0.0, *ages], [0, *engs], [0, *sh]
    log_e = math.log1p(e)
    rate = max(e - ep, 0) / max(t - tp, MIN_AGE_HOURS)
    hc, hn = _hour_angle(created_at), _hour_angle(last.at)
    feats = (
        log_e,
        math.log(t),
        math.log1p(_interp(t / 2, xs, ys)) if history else NAN,
        math.log1p(rate * t) - log_e,
        (t - tp) / t,
        math.log1p(followers) if followers is not None and followers >= 0 else NAN,
        math.sin(hc), math.cos(hc), math.sin(2 * hc), math.cos(2 * hc),
        math.sin(hn), math.cos(hn),
        (sh[-1] + 0.5) / (e + 1.0) if has_shares else NAN,
        math.log1p(sh[-1]),
        math.log1p(max(sh[-1] - _interp(t / 2, xs, ss), 0.0)) if history and has_shares else NAN,
        math.log1p(last.replies or 0),
        math.log1p(max(sh[-1] - sp, 0)),
    )
    return Observation(t, e, feats)


def _bucket(value: float, edges: Sequence[float]) -> int:
    return bisect.bisect_right(edges, value)


def _centres(edges: Sequence[float], top: float = HORIZON_HOURS) -> tuple[float, ...]:
    """Log-age centre of each bucket (the first bucket is [edges[0]/2, edges[0]))."""
    bounds = [edges[0] / 2, *edges, top]
    return tuple(math.log(math.sqrt(a * b)) for a, b in zip(bounds, bounds[1:], strict=False))


_INTERVAL_CENTRES = _centres(INTERVAL_AGE_EDGES)


@dataclass(frozen=True)
class SzaboHuberman:
    """log1p(E24) = a[k] + b[k] * log1p(E(t)) for age bucket k (AGE_EDGES)."""

    coef: tuple[tuple[float, float], ...]  # (a, b) per age bucket

    def predict_log(self, obs: Observation) -> float:
        a, b = self.coef[_bucket(obs.age_hours, AGE_EDGES)]
        return a + b * obs.features[0]

    def forecast(self, obs: Observation) -> Forecast:
        if obs.age_hours >= HORIZON_HOURS:
            return Forecast(float(obs.engagement), float(obs.engagement), float(obs.engagement),
                            "observed")
        value = max(math.expm1(self.predict_log(obs)), float(obs.engagement))
        return Forecast(value, float(obs.engagement), value, "szabo-huberman")

    @classmethod
    def fit(cls, ages: Sequence[float], log_now: Sequence[float], log_24: Sequence[float]) -> SzaboHuberman:
        import numpy as np  # fitting only; prediction is pure Python

        ages_a, x, y = np.asarray(ages), np.asarray(log_now), np.asarray(log_24)
        idx = np.searchsorted(np.asarray(AGE_EDGES), ages_a, side="right")
        coef = []
        for k in range(len(AGE_EDGES) + 1):
            m = idx == k
            if m.sum() < 10:
                coef.append((0.0, 1.0))
                continue
            b, a = np.polyfit(x[m], y[m], 1)
            coef.append((float(a), float(b)))
        return cls(tuple(coef))

    def to_dict(self) -> dict[str, Any]:
        return {"age_edges": list(AGE_EDGES), "coef": [list(c) for c in self.coef]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SzaboHuberman:
        if list(data.get("age_edges", [])) != list(AGE_EDGES):
            raise ForecastModelError("szabo-huberman: age buckets differ from this code's")
        return cls(tuple((float(a), float(b)) for a, b in data["coef"]))


# A tree: (feature, threshold, left, right, value, missing_left), node 0 the root, feature -1 a leaf.
Tree = tuple[tuple[int, ...], tuple[float, ...], tuple[int, ...], tuple[int, ...],
             tuple[float, ...], tuple[bool, ...]]


def _tree_value(tree: Tree, x: Sequence[float]) -> float:
    """One tree by walking its arrays (the reference the compiled ensemble is checked against)."""
    feature, threshold, left, right, value, missing_left = tree
    i = 0
    while True:
        f = feature[i]
        if f < 0:
            return value[i]
        v = x[f]
        if v != v:  # NaN: the side the training data's missing values went
            i = left[i] if missing_left[i] else right[i]
        elif v <= threshold[i]:
            i = left[i]
        else:
            i = right[i]


def _compile(base: float, trees: Sequence[Tree], n_features: int) -> Callable[[Sequence[float]], float]:
    """The ensemble as one generated Python function of nested ifs (10x faster than walking).

    The source holds only numbers formatted here from validated ints and floats. A NaN goes
    left where the node says so: `not (v > t)` is true for NaN, `v <= t` is false.
    """
    lines = ["def ensemble(x):", f"    {', '.join(f'x{i}' for i in range(n_features))}, = x",
             f"    s = {float(base)!r}"]

    def emit(tree: Tree, i: int, depth: int) -> None:
        feature, threshold, left, right, value, missing_left = tree
        pad = "    " * depth
        if feature[i] < 0:
            lines.append(f"{pad}s += {float(value[i])!r}")
            return
        f, t = int(feature[i]), float(threshold[i])
        test = f"not (x{f} > {t!r})" if missing_left[i] else f"x{f} <= {t!r}"
        lines.append(f"{pad}if {test}:")
        emit(tree, left[i], depth + 1)
        lines.append(f"{pad}else:")
        emit(tree, right[i], depth + 1)

    for tree in trees:
        emit(tree, 0, 1)
    lines.append("    return s")
    namespace: dict[str, Any] = {"inf": math.inf, "nan": math.nan}
    exec(compile("\n".join(lines), "<virality-forecaster>", "exec"), namespace)  # noqa: S102
    return namespace["ensemble"]


class Forecaster:
    """Boosted trees on log growth, with an interval table; built from a dict (see `to_dict`)."""

    def __init__(self, *, version: str, base: float, trees: Sequence[Tree],
                 quantiles: Sequence[Sequence[tuple[float, float]]], baseline: SzaboHuberman,
                 metadata: Mapping[str, Any] | None = None) -> None:
        self.version = version
        self.base = base  # the ensemble's starting value (mean log growth)
        self.trees = tuple(trees)
        # [interval age bucket][engagement bucket] -> (q10, q90) of log1p errors
        self.quantiles = tuple(tuple(q) for q in quantiles)
        self.baseline = baseline
        self.metadata = dict(metadata or {})
        self.method = f"gbt:{version}"
        self._ensemble = _compile(base, self.trees, len(FEATURE_NAMES))

    def predict_log_growth(self, features: Sequence[float]) -> float:
        """base + the sum of the trees' leaves: predicted log1p(E24) - log1p(E(t))."""
        return self._ensemble(features)

    def interval(self, age_hours: float, engagement: int) -> tuple[float, float]:
        """(q10, q90) of the log error at this age and engagement, interpolated in log-age."""
        j = _bucket(engagement, ENGAGEMENT_EDGES)
        x = math.log(max(age_hours, 1e-3))
        c = _INTERVAL_CENTRES
        i = bisect.bisect_right(c, x)
        if i <= 0:
            return self.quantiles[0][j]
        if i >= len(c):
            return self.quantiles[-1][j]
        w = (x - c[i - 1]) / (c[i] - c[i - 1])
        (a10, a90), (b10, b90) = self.quantiles[i - 1][j], self.quantiles[i][j]
        return a10 + w * (b10 - a10), a90 + w * (b90 - a90)

    def forecast_observation(self, obs: Observation) -> Forecast:
        e = float(obs.engagement)
        if obs.age_hours >= HORIZON_HOURS:
            return Forecast(e, e, e, "observed")
        log_now = obs.features[0]
        growth = max(self.predict_log_growth(obs.features), 0.0)
        q10, q90 = self.interval(obs.age_hours, obs.engagement)
        value = math.expm1(log_now + growth)
        low = max(math.expm1(log_now + growth + q10), e)
        high = max(math.expm1(log_now + growth + q90), value)
        return Forecast(max(value, e), min(low, max(value, e)), high, self.method)

    def doubling_score(self, obs: Observation) -> float:
        """Predicted log1p(E24) - log1p(2 E(t)): above 0, the model expects the post to double."""
        return obs.features[0] + max(self.predict_log_growth(obs.features), 0.0) - math.log1p(
            2 * obs.engagement)

    def forecast(self, created_at: datetime, snapshots: Sequence[MetricSnapshot], *,
                 followers: int | None, now: datetime) -> Forecast | None:
        obs = observe(created_at, snapshots, followers=followers, now=now)
        return self.forecast_observation(obs) if obs else None

    # --- plain data ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "features": list(FEATURE_NAMES),
            "base": self.base,
            "trees": [[list(part) for part in tree] for tree in self.trees],
            "interval": {"age_edges": list(INTERVAL_AGE_EDGES),
                         "engagement_edges": list(ENGAGEMENT_EDGES),
                         "quantiles": [[list(q) for q in row] for row in self.quantiles]},
            "szabo_huberman": self.baseline.to_dict(),
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Forecaster:
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise ForecastModelError(f"not a {FORMAT} document")
        if list(data.get("features", [])) != list(FEATURE_NAMES):
            raise ForecastModelError("forecaster was trained on other features than this code computes")
        interval = data["interval"]
        if (list(interval["age_edges"]) != list(INTERVAL_AGE_EDGES)
                or list(interval["engagement_edges"]) != list(ENGAGEMENT_EDGES)):
            raise ForecastModelError("forecaster interval buckets differ from this code's")
        try:
            trees = [
                (tuple(int(v) for v in f), tuple(float(v) for v in th), tuple(int(v) for v in le),
                 tuple(int(v) for v in ri), tuple(float(v) for v in va), tuple(bool(v) for v in mi))
                for f, th, le, ri, va, mi in data["trees"]
            ]
            quantiles = [[(float(a), float(b)) for a, b in row] for row in interval["quantiles"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise ForecastModelError(f"forecaster: malformed trees or interval ({exc})") from None
        return cls(version=str(data["version"]), base=float(data["base"]), trees=trees,
                   quantiles=quantiles, baseline=SzaboHuberman.from_dict(data["szabo_huberman"]),
                   metadata=data.get("metadata") or {})

    @classmethod
    def from_json(cls, text: str | bytes) -> Forecaster:
        """Deserialise given JSON text (the caller reads the file)."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ForecastModelError(f"forecaster: not JSON ({exc})") from None
        return cls.from_dict(data)


def export_hist_gradient_boosting(model: Any) -> tuple[float, list[Tree]]:
    """(base, trees) of a fitted sklearn HistGradientBoostingRegressor (training side only).

    Reads the fitted predictors; callers check the export against `model.predict`.
    """
    base = float(model._baseline_prediction.ravel()[0])
    trees: list[Tree] = []
    for (predictor,) in model._predictors:
        nodes = predictor.nodes
        if nodes["is_categorical"].any():
            raise ForecastModelError("categorical splits are not supported by the export")
        leaf = nodes["is_leaf"].astype(bool)
        trees.append((
            tuple(-1 if lf else int(f) for f, lf in zip(nodes["feature_idx"], leaf, strict=True)),
            tuple(float(v) for v in nodes["num_threshold"]),
            tuple(int(v) for v in nodes["left"]),
            tuple(int(v) for v in nodes["right"]),
            tuple(float(v) if lf else 0.0 for v, lf in zip(nodes["value"], leaf, strict=True)),
            tuple(bool(v) for v in nodes["missing_go_to_left"]),
        ))
    return base, trees

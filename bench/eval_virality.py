"""Train (--train) and evaluate the virality forecaster; print the figures of issue 7.

    .venv/bin/python bench/eval_virality.py --train     # writes models/virality/<version>/
    .venv/bin/python bench/eval_virality.py             # evaluates the newest shipped version

Simulated cascades come from triage.simulate (seeded; parameters in its docstring): training
seed 11, calibration (interval) seed 23, held-out test seed 99. The test posts are observed
up to 1 hour with a snapshot every 15 minutes (a collector polling every quarter hour); the
figures are printed for every cascade and for those with at least 1 and 10 engagements at 1 h
(APE needs a non-zero truth, so posts with no engagement at 24 h are left out of APE only).
"Doubling" = E(24h) >= 2 * E(1h), among posts with E(1h) >= 1; the ranking score is the
forecast growth. An "oracle" (boosted trees that also see the hidden appeal and kernel of each
cascade) shows how much of the 24 h outcome the generator leaves to chance.

The baseline, Szabo-Huberman, is refitted for the test at exactly 1 h (log1p E24 = a + b
log1p E(1h), least squares on the calibration cascades), so it is not handicapped by the
artifact's age buckets. Doubling AUC ranks by forecast log1p(E24) - log1p(2 E(1h)) for both.

Real posts: every ../shared/data/real/*.jsonl file with engagement counts (X: retweets, likes,
replies, quotes; Reddit: score, num_comments), read at run time and never copied. They have a
single reading of the counts, so each file's "now" is its latest created_at; the agency
baseline is baseline_from_history over the file's own velocities. Printed: the share of the
file's total engagement held by the top 10% of posts ranked by virality score, against the top
10% ranked by raw counts (the ceiling), and against a random 10% (the floor, 10%). A second
variant scores every post as if read at age 24 h.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from triage.forecast import (  # noqa: E402
    ENGAGEMENT_EDGES,
    FEATURE_NAMES,
    INTERVAL_AGE_EDGES,
    Forecaster,
    SzaboHuberman,
    export_hist_gradient_boosting,
    observe,
)
from triage.records import MetricSnapshot, parse_time  # noqa: E402
from triage.simulate import CascadeParams, simulate_cascades, snapshot_schedule  # noqa: E402
from triage.virality import baseline_from_history, score_virality  # noqa: E402

SEED_TRAIN, SEED_CAL, SEED_TEST = 11, 23, 99
GBT_PARAMS = {"max_iter": 120, "learning_rate": 0.1, "max_leaf_nodes": 15,
              "min_samples_leaf": 80, "l2_regularization": 1.0, "random_state": 0}
MODEL_NAME = "virality"
MODEL_FILE = "forecaster.json"
REAL_DIR = ROOT.parent / "shared" / "data" / "real"


def _samples(cascades, rng, *, per_cascade: int, age: float | None = None, regular: bool = False):
    """(features, age, log1p E(t), log1p E24, E(t), E24) arrays from observations of cascades."""
    feats, ages, now_log, e_now, e_24 = [], [], [], [], []
    for c in cascades:
        final = c.engagement()
        for _ in range(per_cascade):
            a = age if age is not None else float(np.exp(rng.uniform(np.log(1 / 30), np.log(24.0))))
            if regular or rng.random() < 0.5:
                step = 0.25 if age is not None else float(rng.choice([1 / 12, 0.25, 0.5, 1.0]))
                n = max(int(a / step), 1)
                sched = [a - step * k for k in range(n)][::-1]
            else:
                sched = snapshot_schedule(rng, a)
            snaps = c.snapshots(sched)
            obs = observe(c.created_at, snaps, followers=c.followers, now=snaps[-1].at)
            feats.append(obs.features)
            ages.append(obs.age_hours)
            now_log.append(obs.features[0])
            e_now.append(obs.engagement)
            e_24.append(final)
    return (np.array(feats, dtype=float), np.array(ages), np.array(now_log),
            np.log1p(np.array(e_24, dtype=float)), np.array(e_now), np.array(e_24))


def _interval_table(model, X, ages, log_now, log_24):
    pred = log_now + np.maximum(model.predict(X), 0.0)
    resid = log_24 - pred
    a_idx = np.searchsorted(np.asarray(INTERVAL_AGE_EDGES), ages, side="right")
    e_idx = np.searchsorted(np.asarray(ENGAGEMENT_EDGES), np.expm1(log_now).round(), side="right")
    table = []
    for i in range(len(INTERVAL_AGE_EDGES) + 1):
        row = []
        for j in range(len(ENGAGEMENT_EDGES) + 1):
            r = resid[(a_idx == i) & (e_idx == j)]
            if r.size < 50:  # too few: borrow the age bucket's residuals
                r = resid[a_idx == i]
            row.append((round(float(np.quantile(r, 0.1)), 4), round(float(np.quantile(r, 0.9)), 4)))
        table.append(row)
    return table


def train(args) -> Path:
    from sklearn import __version__ as sklearn_version
    from sklearn.ensemble import HistGradientBoostingRegressor

    params = CascadeParams()
    t0 = time.perf_counter()
    train_c = simulate_cascades(args.n_train, seed=SEED_TRAIN, params=params)
    cal_c = simulate_cascades(args.n_cal, seed=SEED_CAL, params=params)
    rng = np.random.default_rng(SEED_TRAIN)
    X, ages, log_now, log_24, _, _ = _samples(train_c, rng, per_cascade=3)
    Xc, ages_c, log_now_c, log_24_c, _, _ = _samples(cal_c, rng, per_cascade=2)
    print(f"simulated {len(train_c):,} + {len(cal_c):,} cascades, {len(X):,} training observations "
          f"in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    model = HistGradientBoostingRegressor(**GBT_PARAMS).fit(X, log_24 - log_now)
    base, trees = export_hist_gradient_boosting(model)
    baseline = SzaboHuberman.fit(ages, log_now, log_24)
    quantiles = _interval_table(model, Xc, ages_c, log_now_c, log_24_c)
    digest = hashlib.sha256(json.dumps([params.__dict__, GBT_PARAMS, args.n_train, args.n_cal],
                                       sort_keys=True, default=str).encode()).hexdigest()[:6]
    version = args.version or f"{datetime.now(timezone.utc):%Y%m%d}-{digest}"
    metadata = {
        "name": MODEL_NAME, "version": version, "trained_at": datetime.now(timezone.utc).isoformat(),
        "data": {"generator": "triage.simulate", "params": {k: v for k, v in params.__dict__.items()},
                 "seeds": {"train": SEED_TRAIN, "calibration": SEED_CAL, "test": SEED_TEST},
                 "cascades": {"train": args.n_train, "calibration": args.n_cal},
                 "sha256": {"train": hashlib.sha256(X.tobytes() + log_24.tobytes()).hexdigest(),
                            "calibration": hashlib.sha256(Xc.tobytes() + log_24_c.tobytes()).hexdigest()},
                 "observations": {"train": int(len(X)), "calibration": int(len(Xc))}},
        "model": {"kind": "HistGradientBoostingRegressor exported to JSON trees",
                  "target": "log1p(E24) - log1p(E(t))", "params": GBT_PARAMS,
                  "trees": len(trees), "features": list(FEATURE_NAMES),
                  "interval": "10th..90th percentile of calibration log errors per age x engagement bucket"},
        "code_version": _code_version(),
        "libraries": {"scikit-learn": sklearn_version, "numpy": np.__version__,
                      "python": platform.python_version()},
    }
    forecaster = Forecaster(version=version, base=base, trees=trees, quantiles=quantiles,
                            baseline=baseline, metadata={"name": MODEL_NAME, "version": version})
    # The export must reproduce scikit-learn's predictions.
    check = X[:2000]
    ours = np.array([forecaster.predict_log_growth(list(x)) for x in check])
    if not np.allclose(ours, model.predict(check), atol=1e-6):
        raise SystemExit("exported trees disagree with scikit-learn's predictions")
    folder = Path(args.models_dir) / MODEL_NAME / version
    if folder.exists():
        raise SystemExit(f"{folder} exists; versions are immutable (pass --version)")
    folder.mkdir(parents=True)
    (folder / MODEL_FILE).write_text(json.dumps(forecaster.to_dict(), separators=(",", ":")) + "\n")
    (folder / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    metadata["metrics"] = evaluate(forecaster, args.n_test, quiet=True)
    (folder / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    (folder / "MODEL_CARD.md").write_text(_card(version, metadata))
    print(f"wrote {folder} ({(folder / MODEL_FILE).stat().st_size / 1024:.0f} KiB)", file=sys.stderr)
    return folder


def _code_version() -> str:
    try:
        from importlib.metadata import version

        return version("pantau")
    except Exception:  # noqa: BLE001 - not installed: no version to record
        return "unknown"


def _card(version: str, meta: dict) -> str:
    m = meta["metrics"]["observed_1h"]["e1_ge_1"]
    return f"""# virality forecaster {version}

Forecasts a post's engagement (reposts + quotes + replies + likes) 24 hours after creation,
with a 10th..90th percentile interval, from whatever metric snapshots exist.

- **Intended use**: ordering the humas queue (virality score, triage.virality); an early
  warning, not a promise. Trained only on simulated cascades (triage.simulate, parameters in
  its docstring): retrain on the database's own snapshot history when it has some.
- **Model**: {meta['model']['trees']} boosted trees (scikit-learn HistGradientBoosting, exported to
  JSON, evaluated in pure Python) on log growth, from log counts, speeds, the share of reposts,
  followers and the hour in WIB. The artifact also holds a Szabo-Huberman fit per age bucket.
- **Held-out simulated posts with >= 1 engagement at 1 h** (15-minute snapshots; the
  Szabo-Huberman baseline refitted at exactly 1 h):
  median APE {m['gbt']['median_ape']:.3f} (Szabo-Huberman {m['sh']['median_ape']:.3f}),
  MSLE {m['gbt']['msle']:.4f} vs {m['sh']['msle']:.4f} ({m['msle_improvement']:.1%} better),
  doubling AUC {m['gbt']['doubling_auc']:.3f}, interval coverage {m['gbt']['coverage']:.2f} (nominal 0.80).
  Below the issue's targets (median APE <= 0.30, MSLE >= 15% better, AUC >= 0.80): a model that
  also sees each cascade's hidden parameters reaches only about 25% and AUC 0.77 on these
  cascades (bench/eval_virality.py, oracle line).
- **Known failures**: Reddit posts (no reposts) are outside the training data; the share
  features are missing for them and the forecast leans on counts and age. Posts that a large
  account reposts after the last snapshot are under-forecast: the generator (like reality)
  leaves much of the 24 h outcome to chance (see the oracle line of bench/eval_virality.py).
  Engagement far above the simulated range (over ~10,000 at 1 h) is extrapolated in log growth.
"""


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    from scipy.stats import rankdata

    pos = labels.sum()
    neg = labels.size - pos
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _metrics(pred_log, log_24, e_now, e_24, lows=None, highs=None) -> dict:
    pred = np.expm1(pred_log)
    nz = e_24 > 0
    ape = np.abs(pred[nz] - e_24[nz]) / e_24[nz]
    has = e_now >= 1
    out = {
        "n": int(pred.size),
        "msle": float(np.mean((pred_log - log_24) ** 2)),
        "median_ape": float(np.median(ape)) if ape.size else float("nan"),
        "p75_ape": float(np.percentile(ape, 75)) if ape.size else float("nan"),
        # ranked by how far the forecast lies above the doubling line, in log1p units
        "doubling_auc": _auc(e_24[has] >= 2 * e_now[has], pred_log[has] - np.log1p(2 * e_now[has])),
    }
    if lows is not None:
        out["coverage"] = float(np.mean((e_24 >= lows) & (e_24 <= highs)))
    return out


def _fit_sh_at(age: float, n: int) -> tuple[float, float]:
    """Szabo-Huberman fitted at exactly this age (the strongest form of the baseline)."""
    cascades = simulate_cascades(n, seed=SEED_CAL)
    x = np.log1p([c.engagement(age) for c in cascades])
    y = np.log1p([c.engagement() for c in cascades])
    b, a = np.polyfit(x, y, 1)
    return float(a), float(b)


def evaluate(forecaster: Forecaster, n_test: int, *, quiet: bool = False, oracle: bool = False) -> dict:
    test = simulate_cascades(n_test, seed=SEED_TEST)
    sh_int, sh_slope = _fit_sh_at(1.0, n_test)
    results: dict = {"sh_at_1h": {"a": sh_int, "b": sh_slope}}
    for label, regular in (("observed_1h", True), ("single_snapshot_1h", False)):
        feats, e_now, e_24, gbt, sh, lows, highs = [], [], [], [], [], [], []
        for c in test:
            sched = [0.25, 0.5, 0.75, 1.0] if regular else [1.0]
            snaps = c.snapshots(sched)
            obs = observe(c.created_at, snaps, followers=c.followers, now=snaps[-1].at)
            f = forecaster.forecast_observation(obs)
            feats.append(obs.features)
            e_now.append(obs.engagement)
            e_24.append(c.engagement())
            gbt.append(math.log1p(f.engagement))
            lows.append(f.low)
            highs.append(f.high)
            sh.append(sh_int + sh_slope * obs.features[0])
        e_now_a, e_24_a = np.array(e_now, float), np.array(e_24, float)
        log_24, gbt_a, sh_a = np.log1p(e_24_a), np.array(gbt), np.array(sh)
        res = {}
        for pop, mask in (("all", np.ones_like(e_now_a, bool)), ("e1_ge_1", e_now_a >= 1),
                          ("e1_ge_10", e_now_a >= 10)):
            g = _metrics(gbt_a[mask], log_24[mask], e_now_a[mask], e_24_a[mask],
                         np.array(lows)[mask], np.array(highs)[mask])
            s = _metrics(sh_a[mask], log_24[mask], e_now_a[mask], e_24_a[mask])
            res[pop] = {"gbt": g, "sh": s, "msle_improvement": 1 - g["msle"] / s["msle"]}
        results[label] = res
        if oracle and regular:
            results["oracle"] = _oracle(test, np.array(feats), e_now_a, e_24_a)
    if not quiet:
        _print_sim(results, n_test)
    return results


def _oracle(test, feats, e_now, e_24) -> dict:
    """Boosted trees that also see each cascade's hidden appeal, theta and s0 (a ceiling)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    train = simulate_cascades(len(test), seed=SEED_CAL + 1)
    rng = np.random.default_rng(7)
    X, _, log_now, log_24, _, _ = _samples(train, rng, per_cascade=1, age=1.0, regular=True)
    hidden = np.array([[math.log(c.appeal), c.theta, math.log(c.s0)] for c in train])
    model = HistGradientBoostingRegressor(**GBT_PARAMS).fit(np.hstack([X, hidden]), log_24 - log_now)
    hidden_t = np.array([[math.log(c.appeal), c.theta, math.log(c.s0)] for c in test])
    pred = feats[:, 0] + np.maximum(model.predict(np.hstack([feats, hidden_t])), 0)
    out = {}
    for pop, mask in (("all", np.ones_like(e_now, bool)), ("e1_ge_1", e_now >= 1), ("e1_ge_10", e_now >= 10)):
        out[pop] = _metrics(pred[mask], np.log1p(e_24[mask]), e_now[mask], e_24[mask])
    return out


def _print_sim(results: dict, n_test: int) -> None:
    print(f"\n== Forecast of 24 h engagement, {n_test:,} held-out simulated cascades (seed {SEED_TEST})")
    sh = results["sh_at_1h"]
    print(f"baseline sh: Szabo-Huberman at 1 h, log1p E24 = {sh['a']:.3f} + {sh['b']:.3f} log1p E(1h)")
    for label, title in (("observed_1h", "snapshots at 15, 30, 45, 60 min"),
                         ("single_snapshot_1h", "one snapshot at 60 min")):
        print(f"-- observed up to 1 h, {title}")
        print(f"{'population':<16}{'n':>7}  {'model':<8}{'mdAPE':>7}{'p75APE':>8}{'MSLE':>8}"
              f"{'AUC x2':>8}{'cover80':>9}   MSLE vs SH")
        for pop, r in results[label].items():
            for name in ("sh", "gbt"):
                m = r[name]
                cover = f"{m['coverage']:.2f}" if "coverage" in m else "-"
                extra = f"   {r['msle_improvement']:+.1%}" if name == "gbt" else ""
                print(f"{pop:<16}{m['n']:>7}  {name:<8}{m['median_ape']:>7.3f}{m['p75_ape']:>8.3f}"
                      f"{m['msle']:>8.4f}{m['doubling_auc']:>8.3f}{cover:>9}{extra}")
    if "oracle" in results:
        print("-- oracle ceiling (also sees the hidden appeal and kernel), 15-minute snapshots")
        for pop, m in results["oracle"].items():
            sh = results["observed_1h"][pop]["sh"]["msle"]
            print(f"{pop:<16}{m['n']:>7}  {'oracle':<8}{m['median_ape']:>7.3f}{m['p75_ape']:>8.3f}"
                  f"{m['msle']:>8.4f}{m['doubling_auc']:>8.3f}{'-':>9}   {1 - m['msle'] / sh:+.1%}")
    print("targets (issue 7): median APE <= 0.30, MSLE >= 15% better than SH, doubling AUC >= 0.80")


# --- real posts ---------------------------------------------------------------------------
def _real_rows(path: Path):
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if not row.get("created_at") or len(row["created_at"]) < 12:
                continue
            if "retweets" in row or "likes" in row:
                snap = dict(reposts=row.get("retweets"), quotes=row.get("quotes"),
                            replies=row.get("replies"), likes=row.get("likes"))
            elif "score" in row:
                snap = dict(score=row.get("score"), replies=row.get("num_comments"))
            else:
                return
            yield parse_time(row["created_at"]), {k: int(v) for k, v in snap.items() if v is not None}


def _top_share(values: np.ndarray, order: np.ndarray) -> float:
    k = max(int(round(0.1 * values.size)), 1)
    return float(values[order[:k]].sum() / values.sum()) if values.sum() else float("nan")


def evaluate_real(forecaster: Forecaster | None, real_dir: Path) -> None:
    files = sorted(real_dir.glob("*.jsonl")) if real_dir.is_dir() else []
    print(f"\n== Real posts with engagement counts ({real_dir})")
    if not files:
        print("not present: skipped")
        return
    print("share of a file's total engagement held by the top 10% of posts")
    print(f"{'file':<34}{'posts':>7}{'by score':>10}{'by counts':>11}{'score@24h':>11}{'random':>8}")
    totals = []
    for path in files:
        rows = list(_real_rows(path))
        if len(rows) < 20:
            continue
        now = max(t for t, _ in rows)
        snaps = [MetricSnapshot(at=now, **counts) for _, counts in rows]
        eng = np.array([s.engagement for s in snaps], float)
        if eng.sum() == 0:
            continue
        ages = [max((now - t).total_seconds() / 3600, 0.25) for t, _ in rows]
        base = baseline_from_history([e / a for e, a in zip(eng, ages, strict=True)])
        scores, scores24 = [], []
        for (created, counts), snap in zip(rows, snaps, strict=True):
            v = score_virality(created, [snap], followers=None, baseline_eph=base, now=now,
                               forecaster=forecaster)
            scores.append(v.score)
            at24 = created + timedelta(hours=24)
            v24 = score_virality(created, [MetricSnapshot(at=at24, **counts)], followers=None,
                                 baseline_eph=base, now=at24, forecaster=forecaster)
            scores24.append(v24.score)
        by_score = _top_share(eng, np.argsort(-np.array(scores), kind="stable"))
        by_count = _top_share(eng, np.argsort(-eng, kind="stable"))
        by_24 = _top_share(eng, np.argsort(-np.array(scores24), kind="stable"))
        totals.append((len(rows), by_score, by_count, by_24))
        print(f"{path.name:<34}{len(rows):>7}{by_score:>10.1%}{by_count:>11.1%}{by_24:>11.1%}{0.1:>8.0%}")
    if totals:
        n = sum(t[0] for t in totals)
        avg = [sum(t[0] * t[i] for t in totals) / n for i in (1, 2, 3)]
        print(f"{'(weighted by posts)':<34}{n:>7}{avg[0]:>10.1%}{avg[1]:>11.1%}{avg[2]:>11.1%}{0.1:>8.0%}")
    print("now = each file's latest created_at; ranking by counts is the ceiling for this measure")


def load_shipped(models_dir: Path, version: str | None) -> Forecaster:
    folder = models_dir / MODEL_NAME
    versions = sorted(p.name for p in folder.glob("*/") if (p / MODEL_FILE).exists())
    if not versions:
        raise SystemExit(f"no forecaster under {folder}: run with --train")
    chosen = version or versions[-1]
    return Forecaster.from_json((folder / chosen / MODEL_FILE).read_bytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", action="store_true", help="fit and write a new version first")
    parser.add_argument("--version", help="version to write (--train) or to evaluate")
    parser.add_argument("--models-dir", default=str(ROOT / "models"))
    parser.add_argument("--n-train", type=int, default=80_000)
    parser.add_argument("--n-cal", type=int, default=20_000)
    parser.add_argument("--n-test", type=int, default=20_000)
    parser.add_argument("--real-dir", default=str(REAL_DIR))
    parser.add_argument("--no-oracle", action="store_true", help="skip the oracle ceiling")
    args = parser.parse_args(argv)
    if args.train:
        folder = train(args)
        args.version = folder.name
    forecaster = load_shipped(Path(args.models_dir), args.version)
    print(f"forecaster {forecaster.version}: {len(forecaster.trees)} trees")
    evaluate(forecaster, args.n_test, oracle=not args.no_oracle)
    evaluate_real(forecaster, Path(args.real_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the triage classifiers: throughput, cold start and peak memory on one core.

    .venv/bin/python bench/bench_classify.py [--models-dir models] [--n 10000] [--batch 1000]

Texts: real posts from ../shared/data/real/*.jsonl when that folder exists (read at run time,
never copied), else the seed corpus repeated. Targets (issue 4): >= 2,000 posts/s for all three
labels, cold start (loading the three models) < 2 s, peak RSS < 400 MB. Run in a fresh process:
the first pass meets each word for the first time (stemming cache cold), as a new worker would;
the second pass, on other posts, shows a process that has been running. Posts per CPU-second is
the figure to compare on a busy machine (wall clock counts other processes' time too).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the target says
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "data" / "real"


def _texts(n: int, seed: int) -> tuple[list[str], str]:
    texts: list[str] = []
    source = "seed corpus"
    paths = sorted(REAL.glob("*.jsonl")) if REAL.is_dir() else []
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            texts += [str(json.loads(line).get("text") or "") for line in handle if line.strip()]
        source = f"{REAL} ({len(paths)} files)"
    if not texts:
        for path in sorted((ROOT / "data" / "seed").glob("*.jsonl")):
            texts += [json.loads(line)["text"] for line in path.open(encoding="utf-8") if line.strip()]
    random.Random(seed).shuffle(texts)
    while len(texts) < 2 * n:
        texts += texts
    return texts[: 2 * n], source


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", default=str(ROOT / "models"))
    parser.add_argument("--n", type=int, default=10_000, help="posts per pass (default 10000)")
    parser.add_argument("--batch", type=int, default=1000, help="posts per predict call")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # pin to one core

    texts, source = _texts(args.n, args.seed)
    rss_before = _peak_rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    from pipelines.models import load_classifier

    imported, imported_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    classifier = load_classifier(Path(args.models_dir))
    loaded, loaded_cpu = time.perf_counter() - start, time.process_time() - cpu

    results = {}
    for label, chunk in (("cold cache", texts[: args.n]), ("warm process", texts[args.n :])):
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(chunk), args.batch):
            classifier.predict(chunk[i : i + args.batch])
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        results[label] = (len(chunk) / elapsed, len(chunk) / cpu)
    print(f"texts: {source}; models: {', '.join(classifier.versions.values())}")
    print(f"cold start: {imported + loaded:.2f} s = import of the libraries {imported:.2f} s "
          f"+ loading the 3 models {loaded:.2f} s; CPU time {imported_cpu + loaded_cpu:.2f} s "
          f"({imported_cpu:.2f} + {loaded_cpu:.2f})   (target < 2 s)")
    for label, (rate, cpu_rate) in results.items():
        print(f"throughput, {args.n} new posts, {label}: {rate:,.0f} posts/s wall clock, "
              f"{cpu_rate:,.0f} posts per CPU-second   (target >= 2,000)")
    print(f"peak RSS: {_peak_rss_mb():.0f} MB (texts alone {rss_before:.0f} MB)   (target < 400 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Speed of virality scoring and case grouping on one core (issue 7: >= 5,000 posts/s;
grouping cost per post flat from 10,000 to 1,000,000 posts).

    .venv/bin/python bench/bench_virality.py            # 10k, 100k and 1M posts (a few minutes)
    .venv/bin/python bench/bench_virality.py --quick    # 10k and 100k

Timings are CPU seconds of this process (time.process_time), so other work on the machine
does not count; wall-clock rates are printed beside them.

1. Scoring: score_virality with the shipped forecaster on 20,000 simulated posts with four
   snapshots each (as the pipeline would pass them).
2. Scoring + grouping of real posts (../shared/data/real, when present): every timed post of
   the X files, scored from its one reading and assigned to a case.
3. Flatness: one stream of 1,000,000 short synthetic posts (random words from a 5,000-word
   vocabulary, 8-20 words; 10% are edited copies of a recent post, 5% reply to one), 2,000 an
   hour, so the 72-hour window holds about 144,000 posts once full. Printed: microseconds per
   post over the 10,000 posts before each mark (10k, 100k, 200k, 500k, 1M; the window is full
   from about 144k on), the posts kept in the index, and the
   process's resident memory (about 4 KB per post in the window).

The garbage collector runs with the thresholds every `pantau` command sets
(pipelines.cli.GC_THRESHOLDS); --default-gc keeps Python's defaults, for comparison.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.cli import GC_THRESHOLDS  # noqa: E402
from triage.dedupe import CaseIndex  # noqa: E402
from triage.forecast import Forecaster  # noqa: E402
from triage.records import MetricSnapshot, parse_time  # noqa: E402
from triage.simulate import simulate_cascades  # noqa: E402
from triage.virality import score_virality  # noqa: E402

REAL_DIR = ROOT.parent / "shared" / "data" / "real"
T0 = datetime(2025, 1, 6, tzinfo=timezone.utc)


def _forecaster() -> Forecaster | None:
    folder = ROOT / "models" / "virality"
    versions = sorted(p for p in folder.glob("*/") if (p / "forecaster.json").is_file())
    if not versions:
        return None
    started = time.perf_counter()
    forecaster = Forecaster.from_json((versions[-1] / "forecaster.json").read_bytes())
    print(f"forecaster {forecaster.version}: loaded in {time.perf_counter() - started:.3f}s")
    return forecaster


def _rate(n: int, cpu: float, wall: float) -> str:
    return (f"{n:,} posts: {n / cpu:,.0f} posts/s CPU ({cpu / n * 1e6:.0f} us/post), "
            f"{n / wall:,.0f} posts/s wall")


def bench_scoring(forecaster: Forecaster | None) -> None:
    cascades = simulate_cascades(20_000, seed=3)
    posts = [(c.created_at, c.snapshots([0.25, 0.5, 0.75, 1.0]), c.followers) for c in cascades]
    cpu, wall = time.process_time(), time.perf_counter()
    for created, snaps, followers in posts:
        score_virality(created, snaps, followers=followers, baseline_eph=2.0, now=snaps[-1].at,
                       forecaster=forecaster)
    print("scoring (4 snapshots each):", _rate(len(posts), time.process_time() - cpu,
                                              time.perf_counter() - wall))


def bench_real(forecaster: Forecaster | None, real_dir: Path) -> None:
    rows = []
    for path in sorted(real_dir.glob("*.jsonl")) if real_dir.is_dir() else []:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                if r.get("source") == "twitter" and r.get("created_at") and len(r["created_at"]) >= 12:
                    rows.append(r)
    if not rows:
        print("scoring + grouping of real posts: ../shared/data/real not present, skipped")
        return
    rows.sort(key=lambda r: (r["created_at"], r["id"]))
    prepared = []
    for r in rows:
        created = parse_time(r["created_at"])
        snap = MetricSnapshot(at=created + timedelta(hours=1), reposts=r.get("retweets"),
                              quotes=r.get("quotes"), replies=r.get("replies"), likes=r.get("likes"))
        prepared.append((r["id"], r["text"], created, snap))
    index = CaseIndex()
    cpu, wall = time.process_time(), time.perf_counter()
    for key, text, created, snap in prepared:
        score_virality(created, [snap], followers=None, baseline_eph=2.0, now=snap.at,
                       forecaster=forecaster)
        index.assign(key, text, created)
    print("scoring + grouping, real X posts:", _rate(len(prepared), time.process_time() - cpu,
                                                     time.perf_counter() - wall))
    index = CaseIndex()
    cpu, wall = time.process_time(), time.perf_counter()
    for key, text, created, _ in prepared:
        index.assign(key, text, created)
    print("grouping only, real X posts:     ", _rate(len(prepared), time.process_time() - cpu,
                                                     time.perf_counter() - wall))


def _rss_mib() -> float:
    """Resident memory now (Linux /proc), else the peak."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_stream(n: int, seed: int = 5):
    rng = random.Random(seed)
    syllables = ["ka", "ta", "pa", "ma", "na", "ri", "si", "lu", "gu", "da", "be", "ja", "ra",
                 "ng", "ku", "mo", "le", "sa", "ti", "wa"]
    vocab = ["".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(5_000)]
    recent: list[str] = []
    for i in range(n):
        created = T0 + timedelta(seconds=i * 1.8)  # 2,000 posts an hour
        reply = None
        roll = rng.random()
        if roll < 0.10 and recent:
            words = rng.choice(recent).split()
            j = rng.randrange(len(words))
            words[j] = words[j][::-1]  # an edited copy
            text = " ".join(words)
        else:
            text = " ".join(rng.choice(vocab) for _ in range(rng.randint(8, 20)))
            if roll > 0.95 and i > 100:
                reply = str(i - rng.randint(1, 100))
        recent.append(text)
        if len(recent) > 1000:
            recent.pop(0)
        yield f"x:{i}", text, created, reply


def bench_flat(total: int) -> None:
    marks = [m for m in (10_000, 100_000, 200_000, 500_000, 1_000_000) if m <= total]
    index = CaseIndex()
    print(f"grouping cost per post, one stream of {total:,} synthetic posts (2,000/hour, 72 h window):")
    print(f"{'posts':>10}{'us/post (last 10k)':>20}{'us/post (all)':>15}{'in window':>11}"
          f"{'RSS MiB':>9}")
    window_cpu = 0.0
    total_cpu = 0.0
    for n, (key, text, created, reply) in enumerate(synthetic_stream(total), start=1):
        t = time.process_time()
        index.assign(key, text, created, reply_to_id=reply)
        dt = time.process_time() - t
        total_cpu += dt
        if n > marks[0] - 10_000 if marks else False:
            window_cpu += dt
        if marks and n == marks[0]:
            rss = _rss_mib()
            print(f"{n:>10,}{window_cpu / 10_000 * 1e6:>20.1f}{total_cpu / n * 1e6:>15.1f}"
                  f"{len(index):>11,}{rss:>9.0f}")
            marks.pop(0)
            window_cpu = 0.0
    print(f"(merges: {index.merges:,})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="stop the stream at 100,000 posts")
    parser.add_argument("--real-dir", default=str(REAL_DIR))
    parser.add_argument("--default-gc", action="store_true",
                        help="keep Python's GC thresholds instead of the CLI's")
    args = parser.parse_args(argv)
    if not args.default_gc:
        gc.set_threshold(*GC_THRESHOLDS)
    print(f"GC thresholds: {gc.get_threshold()}")
    forecaster = _forecaster()
    bench_scoring(forecaster)
    bench_real(forecaster, Path(args.real_dir))
    bench_flat(100_000 if args.quick else 1_000_000)
    return 0


if __name__ == "__main__":
    sys.exit(main())

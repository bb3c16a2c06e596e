"""Speed of full redaction (detect + apply the default policy) on one core.

Builds a workload of typical posts from the labeled eval set (personal data and look-alikes
mixed as they come), repeated to `--posts` posts (default 20,000), redacts every one, and prints
posts per second (best of `--rounds`) and peak memory (tracemalloc, in a separate pass so the
tracing does not slow the timed one). Throughput is measured in process CPU time, which is what
one core delivers even when other work shares the machine; wall time is printed beside it.

    python bench/bench_redact.py [--posts 20000] [--rounds 3] [--texts PATH.jsonl]

Target: >= 10,000 posts/s.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from triage.redact import redact  # noqa: E402

DEFAULT_TEXTS = ROOT / "data" / "eval" / "redaction_eval.jsonl"
PROTECTED = frozenset({"pln_123", "kai121", "bpjskesehatanri", "dukcapilkemendagri", "lapor1708"})
TARGET = 10_000


def load_posts(path: Path, n: int) -> list[str]:
    with path.open(encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh if line.strip()]
    if not texts:
        raise SystemExit(f"no texts in {path}")
    return [texts[i % len(texts)] for i in range(n)]


def run(posts: list[str]) -> int:
    n_entities = 0
    for text in posts:
        n_entities += len(redact(text, protected_handles=PROTECTED).entities)
    return n_entities


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--texts", type=Path, default=DEFAULT_TEXTS, help="JSONL with a text field")
    args = parser.parse_args(argv)
    posts = load_posts(args.texts, args.posts)
    chars = sum(len(p) for p in posts)
    run(posts[:500])  # warm up regex caches
    best = best_wall = float("inf")
    n_entities = 0
    for _ in range(args.rounds):
        c0, w0 = time.process_time(), time.perf_counter()
        n_entities = run(posts)
        best = min(best, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    rate = len(posts) / best
    tracemalloc.start()
    run(posts)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"posts: {len(posts)} (mean {chars / len(posts):.0f} chars), entities: {n_entities}")
    print(
        f"cpu time: {best:.3f} s (best of {args.rounds}), {best / len(posts) * 1e6:.1f} us/post;"
        f" wall: {best_wall:.3f} s ({len(posts) / best_wall:,.0f} posts/s, other load included)"
    )
    print(f"throughput: {rate:,.0f} posts/s on one core (target >= {TARGET:,}) "
          f"{'ok' if rate >= TARGET else 'MISSED'}")
    print(
        f"peak memory while redacting: {peak / 1024:.0f} KiB allocated (tracemalloc); "
        f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How many posts per second normalising raw pages into posts, and storing them, sustains.

Pages are built from the recorded fixtures (tests/fixtures/x: v2 search pages; or
tests/fixtures/reddit: listings), repeated with fresh ids so every page brings new posts, and
serialised to text beforehand, as a collector receives them. Two passes over the same pages:

1. normalise: parse the body, normalise to `Post`s, hash the page (what a collector does);
2. normalise + store: the same, then `Ingestor.store_page` into a fresh SQLite database in a
   temporary folder (one transaction per page: raw page, posts with redacted text and
   pseudonym, metric snapshots).

Peak memory: Python allocations (tracemalloc peak, measured in a separate pass over the first
50 pages, as tracing slows Python down) and the whole process (max RSS).

    python bench/bench_normalize.py [--source x|reddit] [--pages 300] [--page-size 100]
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from collectors import reddit_normalize, x_normalize  # noqa: E402
from collectors.base import RawPage, sha256_text  # noqa: E402
from pipelines.ingest import Ingestor  # noqa: E402
from pipelines.registry import load_registry  # noqa: E402
from pipelines.settings import RESOURCES  # noqa: E402
from pipelines.store.db import open_database  # noqa: E402
from triage.records import CollectedPost, Provenance  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)


def x_pages(count: int, size: int) -> list[str]:
    """v2 search pages of `size` tweets, cycling the fixture tweets with fresh ids and authors."""
    sources = [json.loads((FIXTURES / "x" / f"search_page{n}.json").read_text()) for n in (1, 2)]
    tweets = [t for page in sources for t in page["data"]]
    users = {u["id"]: u for page in sources for u in page["includes"]["users"]}
    bodies = []
    serial = 0
    for number in range(count):
        data, included = [], {}
        for _ in range(size):
            tweet = copy.deepcopy(tweets[serial % len(tweets)])
            serial += 1
            tweet["id"] = str(2124412230169526731 + serial * 4096)
            tweet["conversation_id"] = tweet["id"]
            user = copy.deepcopy(users[tweet["author_id"]])
            tweet["author_id"] = user["id"] = f"{tweet['author_id']}{serial % 500:03d}"  # 500 authors each
            included[user["id"]] = user
            data.append(tweet)
        meta = {"newest_id": data[0]["id"], "oldest_id": data[-1]["id"], "result_count": size,
                "next_token": f"tok{number}"}
        bodies.append(json.dumps({"data": data, "includes": {"users": list(included.values())}, "meta": meta},
                                 ensure_ascii=False))
    return bodies


def reddit_pages(count: int, size: int) -> list[str]:
    """Listings of `size` submissions, cycling the fixture submissions with fresh ids."""
    things = [c for n in (1, 2) for c in json.loads((FIXTURES / "reddit" / f"new_page{n}.json").read_text())
              ["data"]["children"]]
    bodies = []
    serial = 0
    for _ in range(count):
        children = []
        for _ in range(size):
            thing = copy.deepcopy(things[serial % len(things)])
            serial += 1
            thing["data"]["id"] = f"b{serial:07d}"
            thing["data"]["name"] = f"t3_b{serial:07d}"
            children.append(thing)
        bodies.append(json.dumps({"kind": "Listing", "data": {"after": children[-1]["data"]["name"],
                                                              "children": children}}, ensure_ascii=False))
    return bodies


def normalise_x(body: str, fetched_at: datetime) -> RawPage:
    # what collectors.x.XCollector._page does with an answer
    provenance = Provenance("x", "bench", "(@pln_123 OR pln) lang:id -is:retweet",
                            "GET /2/tweets/search/recent", fetched_at, sha256_text(body))
    posts, errors = x_normalize.normalize_page(json.loads(body), fetched_at)
    return RawPage(body, provenance, tuple(CollectedPost(p, provenance) for p in posts), tuple(errors))


def normalise_reddit(body: str, fetched_at: datetime) -> RawPage:
    # what collectors.reddit.RedditCollector._page does with an answer
    provenance = Provenance("reddit", "bench", "r/indonesia/new", "GET /r/indonesia/new", fetched_at,
                            sha256_text(body))
    posts, errors, _ = reddit_normalize.normalize_listing(json.loads(body), fetched_at)
    return RawPage(body, provenance, tuple(CollectedPost(p, provenance) for p in posts), tuple(errors))


def timed(label: str, bodies: list[str], work: Callable[[str], int]) -> None:
    started = time.perf_counter()
    posts = sum(work(body) for body in bodies)
    seconds = time.perf_counter() - started
    print(f"{label:<22} {posts:>7} posts in {seconds:6.2f} s = {posts / seconds:>9,.0f} posts/s "
          f"({len(bodies) / seconds:,.1f} pages/s)")


def traced_peak(bodies: list[str], work: Callable[[str], int]) -> float:
    """Peak Python allocations (MiB) while `work` runs over `bodies`; a separate pass, because
    tracemalloc slows Python several times over and would spoil the timings."""
    tracemalloc.start()
    for body in bodies:
        work(body)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def storer(normalise: Callable[[str, datetime], RawPage], folder: str, name: str):  # noqa: ANN201
    registry = load_registry(RESOURCES / "agencies.toml")
    engine = open_database(f"sqlite:///{Path(folder) / name}")
    clock = iter(NOW + timedelta(milliseconds=i) for i in range(10**9))
    writer = Ingestor(engine, pseudonym_key=b"bench-key", protected_handles=registry.handles,
                      clock=lambda: next(clock))

    def store(body: str) -> int:
        return writer.store_page(normalise(body, NOW)).posts_new

    return engine, store


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("x", "reddit"), default="x")
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--page-size", type=int, default=100, help="posts per page (X max_results: 100)")
    args = parser.parse_args()

    build, normalise = (x_pages, normalise_x) if args.source == "x" else (reddit_pages, normalise_reddit)
    bodies = build(args.pages, args.page_size)
    size = sum(len(b) for b in bodies)
    print(f"{args.source}: {len(bodies)} pages of {args.page_size} posts, {size / 2**20:.1f} MiB of raw JSON")

    timed("normalise", bodies, lambda body: len(normalise(body, NOW).posts))
    with tempfile.TemporaryDirectory() as folder:
        engine, store = storer(normalise, folder, "timed.db")
        timed("normalise + store", bodies, store)
        engine.dispose()
        sample = bodies[: min(len(bodies), 50)]
        peak_normalise = traced_peak(sample, lambda body: len(normalise(body, NOW).posts))
        engine, store = storer(normalise, folder, "traced.db")
        peak_store = traced_peak(sample, store)
        engine.dispose()
    print(f"peak traced memory over {len(sample)} pages: normalise {peak_normalise:.1f} MiB, "
          f"normalise + store {peak_store:.1f} MiB")
    print(f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Remote API storms (issue 9, "Faults"): collectors back off, never crash the scheduler, and
resume from their checkpoints.

X recent search and Reddit's `/new` listing are faked at the HTTP layer (`responses`) by small
stateful worlds: posts keep arriving as simulated time passes (quiet minutes, normal ones, viral
bursts), and every request is answered from a seeded mix of complete pages (with pagination),
429 with a reset time, 429 without one, 500/502/503, connect/read timeouts, truncated JSON,
empty results and (Reddit) a used-up rate-limit window. The mix drifts between phases (calm,
degraded, throttled, outage), as real incidents do.

The jobs run through `CollectionScheduler.run_job`, the call APScheduler makes per job, with
APScheduler's own bookkeeping mimicked: before a run the job's next run time moves one interval
on, after it the job runs again at its (possibly deferred) next run time, never earlier; now and
then the scheduler is restarted, as after a deploy, and must still honour a rate limit recorded
in `collector_runs`. Time is a FrozenClock moved by that rhythm and by every backoff wait (the
injected sleep records and advances, never sleeps).

After the storm and a clean run: no job crashed; every run is in `collector_runs` with a final
status; each wait was capped and the waits per page bounded; every post served in a complete
page is stored exactly once; nothing the platform held was missed; each checkpoint sits on the
newest post served. `bench/drill_api_storm.py` runs the same storm for hours.
"""

from __future__ import annotations

import bisect
import json
import logging
import random
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

from collectors.reddit import ListingState
from collectors.x import TWITTER_EPOCH_MS, SweepState, build_queries
from pipelines import checkpoints
from pipelines.collect import (
    REDDIT_DEFAULTS,
    X_DEFAULTS,
    SourceResult,
    qualifies,
    reddit_budget,
    source_config,
    x_budget,
)
from pipelines.context import AppContext
from pipelines.schedule import SCHEDULE_SOURCE, CollectionScheduler
from pipelines.store import schema as s
from tests.conftest import FrozenClock
from tests.pipelines.test_collect import OAUTH, SEARCH, TOKEN_URL, context

LISTING = f"{OAUTH}/r/indonesia/new"
X_AGENCIES = ("pln", "dukcapil")
X_CONFIG = f"""[sources.x]
agencies = {json.dumps(list(X_AGENCIES))}
pace_budget = false
monthly_post_budget = 100000000
interval_minutes = 1
page_size = 20
max_pages_per_query = 3
max_pages_per_run = 6
"""
REDDIT_CONFIG = """[sources.reddit]
subreddits = ["indonesia"]
search = false
comments = false
interval_minutes = 1
max_pages_per_listing = 2
max_pages_per_run = 4
"""
BACKOFF_CAP = 60.0  # XCollector / RedditSession backoff_cap: no single wait is longer
FINAL_STATUSES = frozenset({"ok", "partial", "error", "rate_limited"})  # what a storm may end a run with

# What the API answers, by phase (weights). "empty": a 200 with no posts (X: with a next_token,
# as X sometimes sends); "window": Reddit's 200 that says the rate-limit window is used up.
PHASES: dict[str, dict[str, int]] = {
    "calm": {"ok": 86, "empty": 3, "5xx": 4, "timeout": 4, "truncated": 3},
    "degraded": {"ok": 40, "empty": 5, "5xx": 17, "timeout": 15, "truncated": 11, "429": 6, "429-bare": 6},
    "throttled": {"ok": 22, "429": 40, "429-bare": 30, "window": 8},
    "outage": {"ok": 4, "5xx": 56, "timeout": 40},
}
PHASE_WEIGHTS = {"calm": 30, "degraded": 35, "throttled": 20, "outage": 15}


def traffic(rng: random.Random, burst: tuple[int, int]) -> int:
    """Posts in one minute: quiet, normal, or a viral burst."""
    mode = rng.choices(("quiet", "normal", "burst"), weights=(30, 55, 15))[0]
    return 0 if mode == "quiet" else rng.randint(1, 6) if mode == "normal" else rng.randint(*burst)


class Faults:
    """The storm's weather: a phase lasting 2-8 simulated minutes, then another."""

    def __init__(self, rng: random.Random, clock: FrozenClock, kinds: frozenset[str]) -> None:
        self.rng, self.clock, self.kinds = rng, clock, kinds
        self.phase, self.until = "calm", clock.now
        self.active = True
        self.answered: Counter[str] = Counter()
        self.failed_in_row = self.most_failed_in_row = 0  # failed answers between two good ones

    def new_run(self) -> None:
        self.failed_in_row = 0

    def draw(self) -> str:
        if not self.active:
            outcome = "ok"
        else:
            if self.clock.now >= self.until:
                self.phase = self.rng.choices(list(PHASE_WEIGHTS), weights=list(PHASE_WEIGHTS.values()))[0]
                self.until = self.clock.now + timedelta(minutes=self.rng.uniform(2, 8))
            weights = {k: w for k, w in PHASES[self.phase].items() if k in self.kinds}
            outcome = self.rng.choices(list(weights), weights=list(weights.values()))[0]
        self.answered[outcome] += 1
        if outcome in ("ok", "empty", "window"):
            self.failed_in_row = 0
        else:
            self.failed_in_row += 1
            self.most_failed_in_row = max(self.most_failed_in_row, self.failed_in_row)
        return outcome


def timeout(rng: random.Random) -> Exception:
    return rng.choice([requests.exceptions.ConnectTimeout("connect timed out (storm)"),
                       requests.exceptions.ReadTimeout("read timed out (storm)")])


def server_error(rng: random.Random) -> tuple[int, dict[str, str], str]:
    status = rng.choice((500, 502, 503))
    if rng.random() < 0.5:
        return status, {"content-type": "text/html"}, f"<html><body>{status} upstream error</body></html>"
    return status, {"content-type": "application/json"}, json.dumps({"title": "Service Unavailable",
                                                                      "status": status})


def truncate(rng: random.Random, body: str) -> str:
    """A proper prefix of a JSON object is never valid JSON."""
    return body[: rng.randint(1, len(body) - 1)]


# -- X recent search ----------------------------------------------------------------------------


@dataclass
class XQueryPosts:
    handle: str
    ids: list[int] = field(default_factory=list)  # ascending
    times: list[float] = field(default_factory=list)  # created (epoch seconds), same order
    served: set[int] = field(default_factory=set)


class XWorld:
    """Posts per search query, minted as simulated time passes; answers like X API v2."""

    LAG = timedelta(seconds=10)  # recent search shows a post this long after it is posted
    KINDS = frozenset({"ok", "empty", "5xx", "timeout", "truncated", "429", "429-bare"})

    def __init__(self, ctx: AppContext, clock: FrozenClock, rng: random.Random,
                 history: timedelta = timedelta(minutes=30)) -> None:
        self.clock, self.rng = clock, rng
        self.faults = Faults(rng, clock, self.KINDS)
        self.queries: dict[str, XQueryPosts] = {}
        for query in build_queries(ctx.registry, agencies=X_AGENCIES, lang=X_DEFAULTS["lang"]):
            handle = query.text.split("@", 1)[1].split()[0].rstrip(")")
            self.queries[query.text] = XQueryPosts(handle)
        self.minted = clock.now - history
        self.open = True  # new posts keep arriving
        self.seq = 0
        self.tokens: dict[str, tuple[str, int | None]] = {}  # next_token -> (query, upper bound)
        self.refetched = 0  # posts served more than once
        self.delivered = 0  # posts in every 200 body, truncated ones too (what X bills)
        self.texts: dict[int, str] = {}

    def calm(self) -> None:
        """The storm is over and the topic cools down: no faults, no new posts."""
        self.faults.active = False
        self.open = False

    def mint(self) -> None:
        while self.open and self.minted <= self.clock.now:
            start = self.minted.timestamp()
            for posts in self.queries.values():
                arrivals = traffic(self.rng, (15, 60))
                for ts in sorted(start + self.rng.uniform(0, 60) for _ in range(arrivals)):
                    self.seq += 1
                    post_id = ((int(ts * 1000) - TWITTER_EPOCH_MS) << 22) | (self.seq & 0x3FFFFF)
                    posts.ids.append(post_id)
                    posts.times.append(ts)
            self.minted += timedelta(minutes=1)

    def served_ids(self) -> set[int]:
        return set().union(*(q.served for q in self.queries.values()))

    def all_ids(self) -> set[int]:
        return set().union(*(q.ids for q in self.queries.values()))

    def search(self, request: requests.PreparedRequest) -> Any:
        self.mint()
        outcome = self.faults.draw()
        now = self.clock.now
        if outcome == "timeout":
            return timeout(self.rng)
        if outcome == "5xx":
            return server_error(self.rng)
        if outcome in ("429", "429-bare"):
            headers = {"content-type": "application/json", "x-rate-limit-limit": "450",
                       "x-rate-limit-remaining": "0"}
            if outcome == "429":
                headers["x-rate-limit-reset"] = str(int(now.timestamp() + self.rng.uniform(-20, 420)))
            return 429, headers, json.dumps({"title": "Too Many Requests", "detail": "Too Many Requests",
                                             "type": "about:blank", "status": 429})
        params = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        posts = self.queries.get(params.get("query", ""))
        max_results = int(params.get("max_results", "10"))
        token = params.get("next_token")
        if posts is None or not 10 <= max_results <= 100 or (token and token not in self.tokens):
            return 400, {"content-type": "application/json"}, json.dumps(
                {"title": "Invalid Request", "detail": "One or more parameters to your request was invalid."})
        visible = bisect.bisect_right(posts.times, (now - self.LAG).timestamp())
        low = 0
        if "since_id" in params:
            low = bisect.bisect_right(posts.ids, int(params["since_id"]))
        elif "start_time" in params:
            start = datetime.fromisoformat(params["start_time"].replace("Z", "+00:00")).timestamp()
            low = bisect.bisect_left(posts.times, start)
        upper = self.tokens[token][1] if token else int(params["until_id"]) if "until_id" in params else None
        high = visible if upper is None else min(visible, bisect.bisect_left(posts.ids, upper))
        found = posts.ids[low:high][::-1]  # newest first
        if outcome == "empty" and found:  # X's empty page that still carries a next_token
            return 200, {"content-type": "application/json"}, json.dumps(
                {"meta": {"result_count": 0, "next_token": self._token(params["query"], upper)}})
        page = found[:max_results]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=str(page[0]), oldest_id=str(page[-1]))
        if len(found) > len(page):
            meta["next_token"] = self._token(params["query"], page[-1])
        body = json.dumps(self._body(posts, page, meta))
        self.delivered += len(page)
        if outcome == "truncated":
            return 200, {"content-type": "application/json"}, truncate(self.rng, body)
        self.refetched += len(posts.served.intersection(page))
        posts.served.update(page)
        return 200, {"content-type": "application/json", "x-rate-limit-remaining": "449"}, body

    def _token(self, query: str, upper: int | None) -> str:
        token = "b26v89c19zqg8o" + "".join(self.rng.choices("0123456789abcdefghijklmnopqrstuvwxyz", k=30))
        self.tokens[token] = (query, upper)
        return token

    def _body(self, posts: XQueryPosts, page: list[int], meta: dict[str, Any]) -> dict[str, Any]:
        data, users = [], {}
        for post_id in page:
            ts = ((post_id >> 22) + TWITTER_EPOCH_MS) / 1000
            created = datetime.fromtimestamp(ts, timezone.utc)
            user = post_id % 97
            users[user] = {"id": str(1400000000000000000 + user), "name": f"Warga {user}",
                           "username": f"warga_{user}",
                           "public_metrics": {"followers_count": user * 37, "following_count": 212,
                                              "tweet_count": 4810, "listed_count": 3, "like_count": 9021}}
            text = self.texts.setdefault(post_id, (
                f"@{posts.handle} {self.rng.choice(COMPLAINTS)} di {self.rng.choice(PLACES)}, "
                f"sudah lapor dari jam {created:%H.%M} belum ada tanggapan"))
            data.append({"edit_history_tweet_ids": [str(post_id)], "id": str(post_id), "text": text,
                         "author_id": users[user]["id"],
                         "created_at": f"{created:%Y-%m-%dT%H:%M:%S}.{created.microsecond // 1000:03d}Z",
                         "conversation_id": str(post_id), "lang": "in",
                         "public_metrics": {"retweet_count": post_id % 7, "reply_count": post_id % 5,
                                            "like_count": post_id % 40, "quote_count": 0,
                                            "bookmark_count": 0, "impression_count": post_id % 3000}})
        body: dict[str, Any] = {"data": data, "includes": {"users": list(users.values())}} if data else {}
        body["meta"] = meta
        return body


COMPLAINTS = ("listrik padam lagi", "token listrik tidak masuk", "e-KTP belum jadi juga",
              "antrean pelayanan mengular", "petugas minta uang tambahan", "aplikasi error terus")
PLACES = ("Medan Johor", "Bekasi Timur", "Makassar", "Sleman", "Pontianak", "Bandung Wetan")


# -- Reddit /r/<sub>/new --------------------------------------------------------------------------


class RedditWorld:
    """Submissions to r/indonesia (some about an agency, some not); answers like Reddit's API."""

    KINDS = frozenset({"ok", "5xx", "timeout", "truncated", "429", "429-bare", "window"})
    FIRST_ID = int("1p50000", 36)

    def __init__(self, ctx: AppContext, clock: FrozenClock, rng: random.Random,
                 history: timedelta = timedelta(minutes=30)) -> None:
        self.ctx, self.clock, self.rng = ctx, clock, rng
        self.faults = Faults(rng, clock, self.KINDS)
        self.times: list[float] = []  # created_utc, ascending (whole seconds, as Reddit sends)
        self.items: list[dict[str, Any]] = []  # same order
        self.index: dict[str, int] = {}  # fullname -> position
        self.minted = clock.now - history
        self.open = True
        self.served: set[str] = set()
        self.refetched = 0  # items served again (each run re-reads a page down to the watermark)
        self.token_429s = 0

    def calm(self) -> None:
        self.faults.active = False
        self.open = False

    def mint(self) -> None:
        while self.open and self.minted <= self.clock.now:
            start = int(self.minted.timestamp())
            for created in sorted(start + self.rng.randrange(60) for _ in range(traffic(self.rng, (10, 45)))):
                number = self.FIRST_ID + len(self.items)
                post_id = _base36(number)
                on_topic = self.rng.random() < 0.8
                title = (f"PLN: {self.rng.choice(COMPLAINTS)} di {self.rng.choice(PLACES)}" if on_topic
                         else f"Diskusi: film Indonesia terbaik nomor {number % 1000}")
                self.index[f"t3_{post_id}"] = len(self.items)
                self.times.append(float(created))
                self.items.append({
                    "subreddit": "indonesia", "selftext": "", "author_fullname": f"t2_u{number % 89}",
                    "title": title, "subreddit_name_prefixed": "r/indonesia", "name": f"t3_{post_id}",
                    "score": number % 300, "upvote_ratio": 0.93, "num_comments": 0, "id": post_id,
                    "author": f"warga{number % 89}", "created_utc": float(created),
                    "permalink": f"/r/indonesia/comments/{post_id}/storm/",
                    "url": f"https://www.reddit.com/r/indonesia/comments/{post_id}/", "over_18": False,
                    "link_flair_text": "Serious", "removed_by_category": None, "is_self": True,
                    "subreddit_id": "t5_2qh5d"})
            self.minted += timedelta(minutes=1)

    def on_topic(self, item: dict[str, Any]) -> bool:
        return qualifies(self.ctx, item["title"], REDDIT_DEFAULTS["min_agency_score"])

    def token(self, request: requests.PreparedRequest) -> Any:
        """The OAuth token endpoint shares the weather, more mildly."""
        if self.faults.active and self.rng.random() < 0.3:
            if self.faults.phase == "outage":
                return server_error(self.rng) if self.rng.random() < 0.6 else timeout(self.rng)
            if self.faults.phase == "throttled":
                self.token_429s += 1
                return 429, {"content-type": "application/json", "x-ratelimit-remaining": "0",
                             "x-ratelimit-used": "600", "x-ratelimit-reset": str(self.rng.randint(1, 300))}, \
                    json.dumps({"message": "Too Many Requests", "error": 429})
        return 200, {"content-type": "application/json"}, json.dumps(
            {"access_token": "storm-token." + str(self.rng.random()), "token_type": "bearer",
             "expires_in": 86400, "scope": "*"})

    def listing(self, request: requests.PreparedRequest) -> Any:
        self.mint()
        outcome = self.faults.draw()
        if outcome == "timeout":
            return timeout(self.rng)
        if outcome == "5xx":
            return server_error(self.rng)
        if outcome in ("429", "429-bare"):
            headers = {"content-type": "application/json"}
            if outcome == "429":
                headers.update({"x-ratelimit-remaining": "0", "x-ratelimit-used": "600",
                                "x-ratelimit-reset": str(self.rng.randint(1, 420))})
            return 429, headers, json.dumps({"message": "Too Many Requests", "error": 429})
        params = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        limit = int(params.get("limit", "25"))
        end = bisect.bisect_right(self.times, self.clock.now.timestamp())
        if "after" in params:
            if params["after"] not in self.index:  # what Reddit does for an unknown cursor
                end = 0
            end = min(end, self.index.get(params["after"], 0))
        page = self.items[max(0, end - limit):end][::-1]
        after = page[-1]["name"] if end - limit > 0 and page else None
        body = json.dumps({"kind": "Listing", "data": {
            "after": after, "dist": len(page), "modhash": "", "geo_filter": "",
            "children": [{"kind": "t3", "data": item} for item in page], "before": None}})
        if outcome == "truncated":
            return 200, {"content-type": "application/json"}, truncate(self.rng, body)
        headers = {"content-type": "application/json", "x-ratelimit-remaining": "590.0",
                   "x-ratelimit-used": "10", "x-ratelimit-reset": str(self.rng.randint(60, 540))}
        if outcome == "window":
            headers.update({"x-ratelimit-remaining": "0.0", "x-ratelimit-used": "600",
                            "x-ratelimit-reset": str(self.rng.randint(5, 300))})
        names = [item["name"] for item in page]
        self.refetched += len(self.served.intersection(names))
        self.served.update(names)
        return 200, headers, body


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"


# -- the scheduler, driven in simulated time ---------------------------------------------------


class Waits(list):
    """The scheduler's sleep: records each wait and moves the simulated clock by it."""

    def __init__(self, clock: FrozenClock) -> None:
        super().__init__()
        self.clock = clock

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        self.clock.advance(seconds=seconds)


@dataclass
class RunRecord:
    job: str
    started: datetime
    results: list[SourceResult]
    waits: list[float]
    next_run: datetime | None  # the job's next run time right after run_job returned
    requests: int  # API requests the run made (platform endpoints and token)

    @property
    def result(self) -> SourceResult | None:
        return self.results[0] if len(self.results) == 1 else None

    @property
    def status(self) -> str:
        return self.result.status if self.result else "crashed"


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@dataclass
class StormReport:
    jobs: tuple[str, ...]
    runs: list[RunRecord]
    storm_end: datetime
    span: timedelta  # simulated time from the first run to the last
    restarts: int
    problems: list[str]
    answered: dict[str, Counter[str]]  # job -> what the fake API answered
    stored: dict[str, int]  # job -> posts stored
    served: dict[str, int]  # job -> distinct posts served in complete pages (on topic for Reddit)
    duplicates: dict[str, int]
    missing: dict[str, int]  # served but not stored
    gaps: dict[str, int]  # held by the platform (and on topic) but never stored
    refetched: dict[str, int]  # posts served again after they were stored
    prawcore_sleeps: list[float]  # real sleeps prawcore would have made on its own
    failed_in_row: dict[str, int] = field(default_factory=dict)  # job -> most failed answers in a row
    budget_used: dict[str, int] = field(default_factory=dict)  # job -> what its monthly budget counted
    budget_unit: dict[str, str] = field(default_factory=dict)  # job -> posts (X) or requests (Reddit)
    delivered: dict[str, int] = field(default_factory=dict)  # job -> posts in every 200 body (X bills)

    def statuses(self, job: str | None = None) -> Counter[str]:
        return Counter(r.status for r in self.runs if job is None or r.job == job)

    def waits(self, job: str | None = None) -> list[float]:
        return [w for r in self.runs if job is None or r.job == job for w in r.waits]

    @property
    def passed(self) -> bool:
        return not self.problems


@contextmanager
def _prawcore_never_sleeps(record: list[float]) -> Iterator[None]:
    """prawcore paces requests with time.sleep; record what it would sleep instead of sleeping."""
    import time

    from prawcore.const import NANOSECONDS
    from prawcore.rate_limit import RateLimiter

    def delay(self: RateLimiter) -> None:
        if self.next_request_timestamp_ns is not None:
            wanted = (self.next_request_timestamp_ns - time.monotonic_ns()) / NANOSECONDS
            if wanted > 0:
                record.append(wanted)

    with mock.patch.object(RateLimiter, "delay", delay):
        yield


def storm_context(db_url: str, data_dir: Path, clock: FrozenClock, jobs: tuple[str, ...]) -> AppContext:
    config, secrets = "", {}
    if "x" in jobs:
        config += X_CONFIG
        secrets["x_bearer_token"] = "storm-bearer-token"
    if "reddit" in jobs:
        config += REDDIT_CONFIG
        secrets.update(reddit_client_id="storm-client", reddit_client_secret="storm-secret")
    return context(db_url, data_dir, clock, config, **secrets)


def run_storm(ctx: AppContext, clock: FrozenClock, *, jobs: tuple[str, ...], minutes: float, seed: int,
              restart_every: int = 25, settle_runs: int = 200,
              progress: Callable[[str], None] | None = None) -> StormReport:
    """`minutes` of simulated storm on `jobs` ("x", "reddit"), then calm until every job settles."""
    rng = random.Random(seed)
    worlds: dict[str, Any] = {}
    waits = Waits(clock)
    problems: list[str] = []
    runs: list[RunRecord] = []
    prawcore_sleeps: list[float] = []
    errors = _Errors()
    schedule_log = logging.getLogger("pipelines.schedule")
    schedule_log.addHandler(errors)
    holder: dict[str, CollectionScheduler] = {}
    next_at: dict[str, datetime] = {}
    restarts = 0

    def start_scheduler() -> None:
        if "s" in holder:
            holder["s"].scheduler.shutdown(wait=False)
        sched = CollectionScheduler(ctx, scheduler=BackgroundScheduler(timezone=timezone.utc), sleep=waits)
        sched.setup()
        sched.scheduler.start(paused=True)  # run times are kept, nothing fires on its own
        holder["s"] = sched
        for job in jobs:
            first = sched.scheduler.get_job(job).next_run_time
            last = next((r for r in reversed(runs) if r.job == job), None)
            if last and last.status == "rate_limited" and last.result.retry_at > clock.now \
                    and first < last.result.retry_at:
                problems.append(f"restart at {clock.now:%H:%M:%S}: {job} scheduled at {first:%H:%M:%S}, "
                                f"before the recorded rate limit ({last.result.retry_at:%H:%M:%S})")
            next_at[job] = first

    def run_one(job: str) -> RunRecord:
        sched = holder["s"]
        clock.now = max(clock.now, next_at[job])
        started = clock.now
        # APScheduler moves an interval job's next run time on before it submits the run
        sched.scheduler.modify_job(job, next_run_time=started + sched.specs[job].interval)
        before_waits, before_calls = len(waits), len(api.calls)
        worlds[job].faults.new_run()
        results = sched.run_job(job)
        sched._after_job(SimpleNamespace(job_id=job))  # noqa: SLF001 - APScheduler's EVENT_JOB_EXECUTED
        scheduled = sched.scheduler.get_job(job).next_run_time
        shown = checkpoints.load(ctx.engine, SCHEDULE_SOURCE, job)  # what `pantau sources` shows
        if shown != (scheduled.astimezone(timezone.utc).isoformat() if scheduled else "paused"):
            problems.append(f"{job} run at {started:%H:%M:%S}: next run recorded as {shown}, is {scheduled}")
        record = RunRecord(job, started, results, waits[before_waits:], scheduled,
                           len(api.calls) - before_calls)
        runs.append(record)
        result = record.result
        if result is None:
            problems.append(f"{job} run at {started:%H:%M:%S}: the job crashed (run_job gave {results!r})")
        elif result.status not in FINAL_STATUSES:
            problems.append(f"{job} run at {started:%H:%M:%S}: unexpected status {result.status}: "
                            f"{result.message[:200]}")
        if result is not None and result.status == "rate_limited":
            if result.retry_at is None:
                problems.append(f"{job} run at {started:%H:%M:%S}: rate-limited without a time to retry")
            elif scheduled is None or scheduled < result.retry_at:
                problems.append(f"{job} run at {started:%H:%M:%S}: rate-limited until "
                                f"{result.retry_at:%H:%M:%S} but rescheduled for {scheduled}")
        # coalesced: a run time that passed during the run's waits fires once, right away
        next_at[job] = max(scheduled or clock.now + timedelta(days=365), clock.now)
        if progress and len(runs) % 100 == 0:
            progress(f"{len(runs)} runs, {clock.now - first_run} simulated")
        return record

    with responses.RequestsMock(assert_all_requests_are_fired=False) as api, \
            _prawcore_never_sleeps(prawcore_sleeps):
        if "x" in jobs:
            worlds["x"] = XWorld(ctx, clock, random.Random(rng.random()))
            api.add_callback(responses.GET, SEARCH, callback=worlds["x"].search)
        if "reddit" in jobs:
            worlds["reddit"] = RedditWorld(ctx, clock, random.Random(rng.random()))
            api.add_callback(responses.POST, TOKEN_URL, callback=worlds["reddit"].token)
            api.add_callback(responses.GET, LISTING, callback=worlds["reddit"].listing)
        first_run = clock.now
        storm_end = clock.now + timedelta(minutes=minutes)
        try:
            start_scheduler()
            while True:
                job = min(jobs, key=lambda j: next_at[j])
                if max(clock.now, next_at[job]) >= storm_end:
                    break
                run_one(job)
                if len(runs) % restart_every == 0:
                    restarts += 1
                    start_scheduler()
            for world in worlds.values():
                world.calm()
            clock.now = max(clock.now, storm_end)
            settled: dict[str, bool] = dict.fromkeys(jobs, False)
            for _ in range(settle_runs):
                job = min((j for j in jobs if not settled[j]), key=lambda j: next_at[j])
                record = run_one(job)
                settled[job] = _settled(ctx, job, record)
                if all(settled.values()):
                    break
            else:
                problems.append(f"not settled after {settle_runs} clean runs: {settled}")
        finally:
            holder["s"].scheduler.shutdown(wait=False) if "s" in holder else None
            schedule_log.removeHandler(errors)
    problems += [f"scheduler logged an error: {m}" for m in errors.messages]
    if prawcore_sleeps:
        problems.append(f"prawcore would have slept on its own {len(prawcore_sleeps)} times "
                        f"(up to {max(prawcore_sleeps):.1f} s), outside the injected sleep")

    report = StormReport(jobs, runs, storm_end, clock.now - first_run, restarts, problems,
                         {j: w.faults.answered for j, w in worlds.items()}, {}, {}, {}, {}, {}, {},
                         prawcore_sleeps)
    for job, world in worlds.items():
        report.failed_in_row[job] = world.faults.most_failed_in_row
        make_budget, defaults = (x_budget, X_DEFAULTS) if job == "x" else (reddit_budget, REDDIT_DEFAULTS)
        quota = make_budget(ctx, source_config(ctx.settings, job, defaults)).status()
        report.budget_used[job], report.budget_unit[job] = quota.used, quota.unit
    _check_runs(ctx, report)
    _check_waits(report)
    if "x" in jobs:
        _check_x(ctx, worlds["x"], report)
    if "reddit" in jobs:
        _check_reddit(ctx, worlds["reddit"], report)
    return report


def _settled(ctx: AppContext, job: str, record: RunRecord) -> bool:
    """A clean run that found nothing new, with no sweep left unfinished."""
    if record.status != "ok" or record.result.posts_new:
        return False
    if job == "x":
        saved = checkpoints.load_all(ctx.engine, "x", prefix="q:")
        return len(saved) == len(X_AGENCIES) and not any(
            SweepState.from_json(c.value).in_sweep for c in saved.values())
    state = ListingState.from_json(checkpoints.load(ctx.engine, "reddit", "r/indonesia:new"))
    return state.after is None and state.newest_name is not None


def _check_runs(ctx: AppContext, report: StormReport) -> None:
    """Every run is in collector_runs, finished, with the status the scheduler saw."""
    r = s.collector_runs
    for job in report.jobs:
        with ctx.engine.connect() as conn:
            rows = conn.execute(select(r.c.status, r.c.finished_at, r.c.rate_limited_until)
                                .where(r.c.source == job).order_by(r.c.id)).all()
        seen = [run for run in report.runs if run.job == job]
        if [row.status for row in rows] != [run.status for run in seen]:
            report.problems.append(f"{job}: collector_runs holds {len(rows)} runs "
                                   f"{Counter(row.status for row in rows)}, the scheduler ran {len(seen)} "
                                   f"{report.statuses(job)}")
        if any(row.finished_at is None for row in rows):
            report.problems.append(f"{job}: runs left without a finish time in collector_runs")
        for row, run in zip(rows, seen, strict=False):  # a length mismatch is reported above
            if run.status == "rate_limited" and _utc(row.rate_limited_until) != run.result.retry_at:
                report.problems.append(f"{job}: rate limit until {run.result.retry_at} recorded as "
                                       f"{row.rate_limited_until}")
        for before, after in zip(seen, seen[1:], strict=False):
            until = before.result.retry_at if before.status == "rate_limited" else None
            if until and after.started < until:
                report.problems.append(f"{job} ran at {after.started:%H:%M:%S}, rate-limited until "
                                       f"{before.result.retry_at:%H:%M:%S}")


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


# Most waits one page may cost: X retries each request up to max_attempts; Reddit's transport
# retries up to max_attempts per HTTP request and the collector retries malformed JSON up to
# max_attempts around it, and a run also fetches a token.
def _waits_per_page(job: str) -> int:
    attempts = (X_DEFAULTS if job == "x" else REDDIT_DEFAULTS)["max_attempts"]
    return attempts - 1 if job == "x" else attempts * (attempts - 1) + attempts - 1


def _check_waits(report: StormReport) -> None:
    for run in report.runs:
        if any(w > BACKOFF_CAP or w <= 0 for w in run.waits):
            report.problems.append(f"{run.job} run at {run.started:%H:%M:%S}: a wait outside (0, "
                                   f"{BACKOFF_CAP:.0f}] s: {run.waits}")
        pages = run.result.pages if run.result else 0
        bound = (pages + (1 if run.job == "x" else 2)) * _waits_per_page(run.job)
        if len(run.waits) > bound:
            report.problems.append(f"{run.job} run at {run.started:%H:%M:%S}: {len(run.waits)} waits for "
                                   f"{pages} pages (at most {bound})")


def _stored(ctx: AppContext, platform: str) -> tuple[set[str], int]:
    p = s.posts
    with ctx.engine.connect() as conn:
        ids = conn.execute(select(p.c.post_id).where(p.c.platform == platform)).scalars().all()
        dupes = conn.execute(select(func.count()).select_from(
            select(p.c.post_id).where(p.c.platform == platform).group_by(p.c.post_id)
            .having(func.count() > 1).subquery())).scalar_one()
    return set(ids), dupes + len(ids) - len(set(ids))


def _check_x(ctx: AppContext, world: XWorld, report: StormReport) -> None:
    stored, dupes = _stored(ctx, "x")
    served = {str(i) for i in world.served_ids()}
    new_counted = sum(r.result.posts_new for r in report.runs if r.job == "x" and r.result)
    report.stored["x"], report.served["x"], report.duplicates["x"] = len(stored), len(served), dupes
    report.missing["x"] = len(served - stored)
    report.gaps["x"] = len({str(i) for i in world.all_ids()} - stored)
    report.refetched["x"] = world.refetched
    report.delivered["x"] = world.delivered
    if dupes or new_counted != len(stored):
        report.problems.append(f"x: {dupes} duplicate posts; runs counted {new_counted} new, "
                               f"{len(stored)} stored")
    if served != stored:
        report.problems.append(f"x: {len(served - stored)} served posts not stored, "
                               f"{len(stored - served)} stored posts never served")
    if report.gaps["x"]:
        report.problems.append(f"x: {report.gaps['x']} posts the API held were never collected")
    if world.refetched:  # a sweep resumes below its last stored page: no page is fetched twice
        report.problems.append(f"x: {world.refetched} posts fetched again after being stored")
    saved = checkpoints.load_all(ctx.engine, "x", prefix="q:")
    by_text = {q.key: q.text for q in build_queries(ctx.registry, agencies=X_AGENCIES)}
    for key, text in by_text.items():
        newest = max(world.queries[text].served, default=None)
        state = SweepState.from_json(saved[key].value if key in saved else None)
        if state != SweepState(since_id=str(newest) if newest else None):
            report.problems.append(f"x: checkpoint of {key} is {state}, newest served id {newest}")


def _check_reddit(ctx: AppContext, world: RedditWorld, report: StormReport) -> None:
    stored, dupes = _stored(ctx, "reddit")
    on_topic = {item["id"] for item in world.items if world.on_topic(item)}
    served = {name[3:] for name in world.served} & on_topic
    new_counted = sum(r.result.posts_new for r in report.runs if r.job == "reddit" and r.result)
    report.stored["reddit"], report.served["reddit"] = len(stored), len(served)
    report.duplicates["reddit"] = dupes
    report.missing["reddit"] = len(served - stored)
    report.gaps["reddit"] = len(on_topic - stored)
    report.refetched["reddit"] = world.refetched
    if dupes or new_counted != len(stored):
        report.problems.append(f"reddit: {dupes} duplicate posts; runs counted {new_counted} new, "
                               f"{len(stored)} stored")
    if served != stored:
        report.problems.append(f"reddit: {len(served - stored)} served posts not stored, "
                               f"{len(stored - served)} stored posts not served or off topic")
    if report.gaps["reddit"]:
        report.problems.append(f"reddit: {report.gaps['reddit']} posts on r/indonesia were never collected")
    newest = world.items[-1] if world.items else None
    state = ListingState.from_json(checkpoints.load(ctx.engine, "reddit", "r/indonesia:new"))
    want = ListingState(newest["created_utc"], newest["name"]) if newest else ListingState()
    if state != want:
        report.problems.append(f"reddit: checkpoint is {state}, newest served {want}")


# -- the tests --------------------------------------------------------------------------------


def _assert_storm(report: StormReport, job: str, kinds: frozenset[str], minutes: float) -> None:
    assert report.problems == []
    runs = [r for r in report.runs if r.job == job]
    assert 60 <= len(runs) <= 150, len(runs)
    assert report.storm_end - runs[0].started >= timedelta(minutes=minutes)
    assert report.restarts >= 2
    answered = report.answered[job]
    assert set(answered) == kinds, answered  # the storm really had every kind of fault
    statuses = report.statuses(job)
    assert {"ok", "error", "rate_limited"} <= set(statuses), statuses
    waits = report.waits(job)
    assert waits and max(waits) <= BACKOFF_CAP
    assert sum(waits) <= 0.5 * report.span.total_seconds()  # waiting never takes over the run time
    assert report.stored[job] == report.served[job] > 200
    assert report.duplicates[job] == report.missing[job] == report.gaps[job] == 0


def test_x_search_storm_backs_off_never_crashes_the_scheduler_and_resumes_from_checkpoints(
        sqlite_url: str, tmp_path: Path) -> None:
    clock = FrozenClock()
    ctx = storm_context(sqlite_url, tmp_path, clock, ("x",))
    try:
        report = run_storm(ctx, clock, jobs=("x",), minutes=120, seed=9)
    finally:
        ctx.close()
    _assert_storm(report, "x", XWorld.KINDS, 120)
    assert report.failed_in_row["x"] <= X_DEFAULTS["max_attempts"]  # one page: at most max_attempts tries
    assert report.refetched["x"] == 0  # each sweep resumed below its last stored page
    x_waits = report.waits("x")
    assert {2.0, 15.0} <= set(x_waits)  # 5xx/timeout/bad JSON backoff, and 429-without-reset backoff
    limited = [r.result for r in report.runs if r.status == "rate_limited"]
    assert any("without reset header" in r.message for r in limited)  # fallback after 4 bare 429s
    assert any("x-rate-limit-reset" in r.message for r in limited)


def test_reddit_listing_storm_backs_off_never_crashes_the_scheduler_and_resumes_from_checkpoints(
        sqlite_url: str, tmp_path: Path) -> None:
    clock = FrozenClock()
    ctx = storm_context(sqlite_url, tmp_path, clock, ("reddit",))
    try:
        report = run_storm(ctx, clock, jobs=("reddit",), minutes=120, seed=9)
    finally:
        ctx.close()
    _assert_storm(report, "reddit", RedditWorld.KINDS, 120)
    assert report.prawcore_sleeps == []  # prawcore never paced or slept on its own
    limited = [r.result for r in report.runs if r.status == "rate_limited"]
    assert any("window used up" in r.message for r in limited)


# -- regressions found by the storm -------------------------------------------------------------


def test_scheduler_uses_the_injected_sleep_even_when_it_is_falsy(sqlite_url: str, tmp_path: Path) -> None:
    """`sleep or self._wait` dropped a recorder that is an empty list: backoffs slept for real."""
    import time

    clock = FrozenClock()
    ctx = storm_context(sqlite_url, tmp_path, clock, ("x",))
    waits = Waits(clock)
    assert not waits  # empty, hence falsy, like tests' Sleeps() recorders
    sched = CollectionScheduler(ctx, scheduler=BackgroundScheduler(timezone=timezone.utc), sleep=waits)
    sched.setup()
    sched.scheduler.start(paused=True)
    try:
        with responses.RequestsMock() as api:
            api.get(SEARCH, status=503, body="upstream unavailable")
            api.get(SEARCH, status=503, body="upstream unavailable")
            api.get(SEARCH, json={"meta": {"result_count": 0}})
            started = time.monotonic()
            (result,) = sched.run_job("x")
        assert time.monotonic() - started < 1.5  # 2 s + 4 s of backoff were not slept
        assert waits == [2.0, 4.0] and result.status == "ok"
    finally:
        sched.scheduler.shutdown(wait=False)
        ctx.close()


def test_reddit_malformed_json_backoff_is_capped_like_every_other_wait() -> None:
    """The malformed-JSON retry doubled without the transport's 60 s cap (max_attempts = 8: 128 s)."""
    from collectors.base import CollectorError
    from collectors.reddit import RedditCollector

    waits: list[float] = []
    with responses.RequestsMock() as api:
        api.post(TOKEN_URL, json={"access_token": "t", "token_type": "bearer", "expires_in": 86400,
                                  "scope": "*"})
        api.get(LISTING, body='{"kind": "Listing", "da', content_type="application/json")
        collector = RedditCollector("cid", "csecret", "linux:pantau-test:0.1", clock=FrozenClock(),
                                    sleep=waits.append, max_attempts=8)
        with pytest.raises(CollectorError, match="malformed JSON .* after 8 attempts"):
            list(collector.new("indonesia", ListingState(), remaining=lambda: 10**9))
    assert waits == [2.0, 4.0, 8.0, 16.0, 32.0, BACKOFF_CAP, BACKOFF_CAP]

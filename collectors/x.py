"""X (API v2) collector: recent search per agency query, tweet lookup for metric refresh.

The real `tweepy.Client` does the requests (`return_type=requests.Response`, so each page is
kept exactly as received). We handle what tweepy leaves to the caller: a timeout on every
request (tweepy passes none), 429 with `x-rate-limit-reset` (raised as `CollectorRateLimited`
for the scheduler; never `wait_on_rate_limit`, which loops forever without the header),
retries with backoff on 5xx, timeouts and connection errors, and readable 401/403 messages.

Search is a *sweep* per query, newest to oldest, between the `since_id` watermark and now. The
sweep's progress (`until_id`) is part of the checkpoint, so a run cut short (page budget, quota,
SIGTERM, SIGKILL) resumes where the last committed page ended and never leaves a gap; only a
finished sweep moves the watermark. The collector yields pages; the caller stores each page and
then saves `page.position` (the checkpoint after that page), never before.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
import tweepy

from collectors import x_normalize
from collectors.base import (
    CollectorAuthError,
    CollectorBudgetExhausted,
    CollectorError,
    CollectorRateLimited,
    Fetched,
    RawPage,
    sha256_text,
)
from triage.agencies import Registry
from triage.records import CollectedPost, Provenance, format_time

log = logging.getLogger(__name__)
# tweepy logs every request's headers, bearer token included, at DEBUG: never let that through.
logging.getLogger("tweepy.client").setLevel(logging.INFO)

NAME = "x"
VERSION = "0.1.0"
SEARCH_ENDPOINT = "GET /2/tweets/search/recent"
LOOKUP_ENDPOINT = "GET /2/tweets"
MAX_QUERY_LENGTH = 512  # X's limit for recent search on the self-serve tiers
MIN_RESULTS, MAX_RESULTS = 10, 100  # max_results bounds of recent search
LOOKUP_BATCH = 100  # ids per tweet lookup
RECENT_WINDOW = timedelta(days=7)  # recent search reaches this far back
TWITTER_EPOCH_MS = 1288834974657  # snowflake ids carry their creation time since this
TWEET_FIELDS = ["created_at", "public_metrics", "conversation_id", "referenced_tweets", "lang",
                "author_id", "note_tweet"]
USER_FIELDS = ["public_metrics", "username"]
EXPANSIONS = ["author_id"]
TOKEN_HELP = "check PANTAU_X_BEARER_TOKEN (or x_bearer_token in the config file)"


class XQueryRejected(CollectorError):
    """X refused one query (400): that query is skipped, the others still run."""


@dataclass(frozen=True, slots=True)
class XQuery:
    key: str  # checkpoint key: "q:<agency id>:<hash of text>", stable while the text is
    text: str  # the search query, at most MAX_QUERY_LENGTH characters


@dataclass(frozen=True, slots=True)
class SweepState:
    """Checkpoint of one query: the watermark and the progress of an unfinished sweep."""

    since_id: str | None = None  # every post up to this id is collected
    until_id: str | None = None  # unfinished sweep: oldest id stored so far (exclusive bound)
    newest_id: str | None = None  # unfinished sweep: newest id it saw (the next watermark)
    start_time: str | None = None  # unfinished sweep without watermark: its lower time bound

    @property
    def in_sweep(self) -> bool:
        return self.until_id is not None

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in (("since_id", self.since_id), ("until_id", self.until_id),
                           ("newest_id", self.newest_id), ("start_time", self.start_time)) if v})

    @classmethod
    def from_json(cls, text: str | None) -> SweepState:
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except ValueError:
            data = {"since_id": text} if text.isdigit() else {}  # a bare since_id
        return cls(**{k: str(v) for k, v in data.items() if k in cls.__slots__ and v})


def snowflake_time(post_id: str) -> datetime | None:
    """When an X id was minted (ids encode their creation time)."""
    try:
        ms = (int(post_id) >> 22) + TWITTER_EPOCH_MS
    except ValueError:
        return None
    return datetime.fromtimestamp(ms / 1000, timezone.utc)


def _term(text: str) -> str:
    text = " ".join(text.replace('"', " ").split())
    return f'"{text}"' if (" " in text or not text.replace("_", "").isalnum()) else text


def _pack(terms: Sequence[str], suffix: str, limit: int) -> list[str]:
    """Greedy: `(a OR b ...) suffix` queries of at most `limit` characters."""
    queries: list[str] = []
    group: list[str] = []
    for term in terms:
        candidate = group + [term]
        if len(_group(candidate) + suffix) <= limit:
            group = candidate
            continue
        if group:
            queries.append(_group(group) + suffix)
        if len(_group([term]) + suffix) > limit:
            log.warning("query term too long for X's %d-character limit, skipped", limit)
            group = []
            continue
        group = [term]
    if group:
        queries.append(_group(group) + suffix)
    return queries


def _group(terms: Sequence[str]) -> str:
    return terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"


def build_queries(
    registry: Registry,
    *,
    agencies: Iterable[str] = (),
    lang: str = "id",
    exclude_retweets: bool = True,
    include_aliases: bool = True,
    exclude_own_posts: bool = True,
    extra: Iterable[str] = (),
    max_length: int = MAX_QUERY_LENGTH,
) -> list[XQuery]:
    """Search queries per agency: its @handles (and aliases), split to fit `max_length`.

    `lang:id` is the operator X accepts for Indonesian (tweets still come back with "lang": "in").
    The agency's own posts are excluded (`-from:handle`) so the quota goes to the public's posts.
    """
    wanted = set(agencies)
    unknown = wanted - {a.id for a in registry.agencies}
    if unknown:
        raise CollectorError(f"[sources.x] agencies: unknown agency id(s) {', '.join(sorted(unknown))}")
    base = (f" lang:{lang}" if lang else "") + (" -is:retweet" if exclude_retweets else "")
    queries: list[XQuery] = []
    for agency in registry.agencies:
        if wanted and agency.id not in wanted:
            continue
        handles = [h.lstrip("@") for h in agency.handles.get("x", ())]
        terms = [f"@{h}" for h in handles]
        if include_aliases:
            terms += [_term(a) for a in agency.aliases]
        terms = list(dict.fromkeys(t for t in terms if t.strip('"@')))
        if not terms:
            continue
        own = "".join(f" -from:{h}" for h in handles) if exclude_own_posts else ""
        suffix = base + (own if len(base + own) < max_length // 2 else "")
        for text in _pack(terms, suffix, max_length):
            queries.append(XQuery(_key(agency.id, text), text))
    for text in extra:
        text = " ".join(str(text).split())
        if len(text) > max_length:
            raise CollectorError(f"[sources.x] extra query longer than {max_length} characters")
        queries.append(XQuery(_key("extra", text), text))
    return queries


def _key(prefix: str, text: str) -> str:
    return f"q:{prefix}:{hashlib.sha1(text.encode()).hexdigest()[:12]}"


class TimeoutSession(requests.Session):
    """A requests session that never waits forever: requests without a timeout get ours."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any):  # noqa: ANN201
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, url, *args, **kwargs)


TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class XCollector:
    """Pages from X API v2 through tweepy; dependencies (clock, sleep, client) come in."""

    def __init__(
        self,
        bearer_token: str,
        *,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
        timeout: float = 20.0,
        max_attempts: int = 4,
        backoff_base: float = 2.0,
        backoff_cap: float = 60.0,
        rate_limit_backoff: float = 15.0,
        rate_limit_fallback: timedelta = timedelta(minutes=15),
        client: tweepy.Client | None = None,
    ) -> None:
        if not bearer_token and client is None:
            raise CollectorAuthError(f"no X bearer token: {TOKEN_HELP}")
        self.clock = clock
        self.sleep = sleep
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.rate_limit_backoff = rate_limit_backoff
        self.rate_limit_fallback = rate_limit_fallback
        self._unbilled = 0  # see take_unbilled
        self.client = client or tweepy.Client(
            bearer_token=bearer_token, return_type=requests.Response, wait_on_rate_limit=False)
        self.client.session = TimeoutSession(timeout)

    # -- search ------------------------------------------------------------------------------

    def search(
        self,
        query: XQuery,
        state: SweepState,
        *,
        remaining: Callable[[], int],
        page_size: int = MAX_RESULTS,
        backfill: timedelta = timedelta(hours=24),
    ) -> Iterator[Fetched]:
        """Pages of `query`, newest first, continuing `state`; each page carries the next state.

        `remaining()` is the quota left; max_results is sized to it and the sweep stops with
        `CollectorBudgetExhausted` before a request could exceed it.
        """
        now = self.clock()
        since = state.since_id
        if since and (snowflake_time(since) or now) < now - RECENT_WINDOW + timedelta(minutes=5):
            log.warning("X watermark of %s is older than the 7-day search window; restarting it", query.key)
            floor = format_time(now - RECENT_WINDOW + timedelta(minutes=5))
            since, state = None, SweepState(start_time=floor)
        start_time = state.start_time
        if start_time and start_time < format_time(now - RECENT_WINDOW + timedelta(minutes=5)):
            start_time = format_time(now - RECENT_WINDOW + timedelta(minutes=5))
        if not since and not state.in_sweep and not start_time:
            start_time = format_time(now - min(backfill, RECENT_WINDOW - timedelta(minutes=5)))
        newest_id, until_id = state.newest_id, state.until_id
        next_token: str | None = None
        while True:
            left = remaining()
            if left < MIN_RESULTS:
                raise CollectorBudgetExhausted(f"X post budget: {max(left, 0)} posts left, "
                                               f"a search page needs room for {MIN_RESULTS}")
            params: dict[str, Any] = {
                "query": query.text, "max_results": max(MIN_RESULTS, min(page_size, left, MAX_RESULTS)),
                "expansions": EXPANSIONS, "tweet_fields": TWEET_FIELDS, "user_fields": USER_FIELDS,
            }
            if since:
                params["since_id"] = since
            elif start_time:
                params["start_time"] = start_time
            if next_token:
                params["next_token"] = next_token
            elif until_id:
                params["until_id"] = until_id
            body, data = self._call(self.client.search_recent_tweets, SEARCH_ENDPOINT, query.key, params,
                                    billable=params["max_results"])
            meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
            newest_id = newest_id or _opt(meta.get("newest_id"))
            until_id = _opt(meta.get("oldest_id")) or until_id
            next_token = _opt(meta.get("next_token"))
            if next_token:
                after = SweepState(since, until_id, newest_id, None if since else start_time)
            else:
                after = SweepState(since_id=newest_id or since)  # nothing found: stays empty
            yield self._page(body, data, query.text, SEARCH_ENDPOINT, after.to_json(),
                             {"result_count": meta.get("result_count")})
            if not next_token:
                return

    # -- lookup (metric refresh) -------------------------------------------------------------

    def lookup(self, ids: Sequence[str], *, remaining: Callable[[], int]) -> Iterator[Fetched]:
        """Current counts of posts by id, 100 per request; missing ones are reported, not fatal."""
        ids = list(dict.fromkeys(str(i) for i in ids))
        start = 0
        while start < len(ids):
            left = remaining()
            if left < 1:
                raise CollectorBudgetExhausted("X post budget used up for metric refresh")
            chunk = ids[start : start + min(LOOKUP_BATCH, left)]
            start += len(chunk)
            params = {"ids": chunk, "expansions": EXPANSIONS, "tweet_fields": TWEET_FIELDS,
                      "user_fields": USER_FIELDS}
            body, data = self._call(self.client.get_tweets, LOOKUP_ENDPOINT, f"{len(chunk)} ids", params,
                                    billable=len(chunk))
            yield self._page(body, data, None, LOOKUP_ENDPOINT, None, {"requested": len(chunk)})

    # -- internals ---------------------------------------------------------------------------

    def _page(self, body: str, data: dict[str, Any], query: str | None, endpoint: str,
              position: str | None, stats: dict[str, Any]) -> Fetched:
        fetched_at = self.clock()
        provenance = Provenance(NAME, VERSION, query, endpoint, fetched_at, sha256_text(body))
        posts, errors = x_normalize.normalize_page(data, fetched_at)
        raw = data.get("data")
        billed = len(raw) if isinstance(raw, list) else (1 if isinstance(raw, dict) else 0)
        billed += self.take_unbilled()
        page = RawPage(body, provenance, tuple(CollectedPost(p, provenance) for p in posts),
                       tuple(errors), position)
        return Fetched(page, billed, tuple(x_normalize.page_problems(data)), stats)

    def take_unbilled(self) -> int:
        """Posts X may have counted in answers we could not read, not billed yet (and now reset).

        A 200 answer with a cut-off or malformed body was delivered, so X counts its posts; how
        many is unknowable, so the page size asked for is billed (the budget errs on the safe
        side). They go with the next page; the caller bills what is left at the end of its run."""
        unbilled, self._unbilled = self._unbilled, 0
        return unbilled

    def _backoff(self, attempt: int, base: float) -> float:
        return min(self.backoff_cap, base * 2 ** (attempt - 1))

    def _call(self, method: Callable[..., Any], endpoint: str, what: str,
              params: dict[str, Any], *, billable: int) -> tuple[str, dict[str, Any]]:
        """One request with our retry policy; returns (body as received, parsed JSON)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = method(**params)
            except tweepy.TooManyRequests as exc:
                until = _reset_time(exc.response)
                if until is not None:
                    until = max(until, self.clock() + timedelta(seconds=5))
                    log.warning("X rate limit on %s (429): next request allowed at %s (x-rate-limit-reset)",
                                endpoint, format_time(until))
                    raise CollectorRateLimited(
                        f"X rate limit on {endpoint} (429, x-rate-limit-reset)", until) from None
                if attempt >= self.max_attempts:
                    until = self.clock() + self.rate_limit_fallback
                    raise CollectorRateLimited(f"X rate limit on {endpoint} (429 without reset header, "
                                               f"{attempt} attempts)", until) from None
                self._wait(attempt, self.rate_limit_backoff, f"429 without x-rate-limit-reset on {endpoint}")
                continue
            except tweepy.Unauthorized:
                raise CollectorAuthError(f"X rejected the bearer token (401): {TOKEN_HELP}") from None
            except tweepy.Forbidden as exc:
                raise CollectorAuthError(
                    f"X refused access to {endpoint} (403): {_api_detail(exc)} - the app needs a project "
                    f"with an access level that includes this endpoint (recent search: Basic or higher); "
                    f"check the developer portal, or {TOKEN_HELP}") from None
            except tweepy.BadRequest as exc:
                raise XQueryRejected(f"X refused the request for {what} (400): {_api_detail(exc)}") from None
            except tweepy.TwitterServerError as exc:
                self._retry_or_fail(attempt, f"X server error {exc.response.status_code} on {endpoint}")
                continue
            except tweepy.HTTPException as exc:
                raise CollectorError(f"X answered {exc.response.status_code} on {endpoint}: "
                                     f"{_api_detail(exc)}") from None
            except TRANSIENT as exc:
                self._retry_or_fail(attempt, f"{type(exc).__name__} on {endpoint}")
                continue
            body = response.text
            try:
                data = json.loads(body)
            except ValueError:
                data = None
            if not isinstance(data, dict):
                self._unbilled += billable  # delivered: X counted it (see take_unbilled)
                self._retry_or_fail(attempt, f"malformed JSON from {endpoint} ({len(body)} bytes)")
                continue
            log.info("X %s %s: %s", endpoint, what, response.status_code)
            return body, data

    def _retry_or_fail(self, attempt: int, reason: str) -> None:
        if attempt >= self.max_attempts:
            raise CollectorError(f"{reason}, gave up after {attempt} attempts")
        self._wait(attempt, self.backoff_base, reason)

    def _wait(self, attempt: int, base: float, reason: str) -> None:
        delay = self._backoff(attempt, base)
        log.warning("%s: retrying in %.0f s (attempt %d of %d)", reason, delay, attempt + 1,
                    self.max_attempts)
        self.sleep(delay)


def _opt(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _reset_time(response: Any) -> datetime | None:
    value = getattr(response, "headers", {}).get("x-rate-limit-reset")
    try:
        return datetime.fromtimestamp(int(value), timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _api_detail(exc: tweepy.HTTPException) -> str:
    """What X said, briefly (API messages hold no secrets; post text never appears here)."""
    parts = list(exc.api_messages)
    try:
        data = exc.response.json()
    except ValueError:
        data = {}
    if isinstance(data, dict):
        parts += [str(data[k]) for k in ("reason", "detail") if data.get(k)]
    text = "; ".join(dict.fromkeys(p.strip() for p in parts if p and p.strip()))
    return (text or getattr(exc.response, "reason", "") or "no detail")[:300]

"""Reddit collector (praw, read-only): subreddit search and new submissions, comments, counts.

The real `praw.Reddit` client does the work (OAuth client-credentials token, request building,
errors); its transport is our `RedditSession`, which adds what we need around praw:
- a timeout on every request and the raw body of every answer (kept as the raw page);
- our retry policy (5xx, timeouts, connection errors: backoff with the injected sleep, then
  a `CollectorError`), raised from the transport so prawcore's own sleeping retry never runs;
- 429: `CollectorRateLimited` until Reddit's `x-ratelimit-reset`; when the headers say the
  window is used up, the next request is refused the same way instead of prawcore sleeping;
- 401 (at the token endpoint or later): `CollectorAuthError` saying which setting to fix.

The monthly budget is a runaway guard in requests (Reddit meters requests, not items): each
page bills one. Listings are swept newest to oldest down to the watermark (newest
`created_utc` + fullname of the last finished sweep); an unfinished sweep keeps its `after`
cursor in the checkpoint, so a run cut short resumes without a gap. The caller stores each
page, then saves `page.position`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import praw
import prawcore
import requests

from collectors import reddit_normalize as rn
from collectors.base import (
    CollectorAuthError,
    CollectorBudgetExhausted,
    CollectorError,
    CollectorRateLimited,
    Fetched,
    RawPage,
    sha256_text,
)
from triage.records import CollectedPost, Provenance, format_time

log = logging.getLogger(__name__)

NAME = "reddit"
VERSION = "0.1.0"
TOKEN_PATH = "/api/v1/access_token"
MAX_LIMIT = 100  # items per listing page
INFO_BATCH = 100  # fullnames per /api/info request
MAX_QUERY_LENGTH = 512
RETRY_STATUSES = frozenset({408, 500, 502, 503, 504, 520, 522})
CREDENTIALS_HELP = ("check PANTAU_REDDIT_CLIENT_ID and PANTAU_REDDIT_CLIENT_SECRET "
                    "(or reddit_client_id / reddit_client_secret in the config file)")
TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class RedditListingError(CollectorError):
    """One listing cannot be read (private, banned or missing subreddit): skipped, not fatal."""


class RedditSession(requests.Session):
    """praw's transport: timeouts, retries, rate-limit and auth policy, raw bodies kept."""

    def __init__(self, *, timeout: float, clock: Callable[[], datetime], sleep: Callable[[float], None],
                 max_attempts: int = 4, backoff_base: float = 2.0, backoff_cap: float = 60.0,
                 rate_limit_fallback: timedelta = timedelta(minutes=10)) -> None:
        super().__init__()
        self.timeout = timeout
        self.clock = clock
        self.sleep = sleep
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.rate_limit_fallback = rate_limit_fallback
        self.last_body: str | None = None  # body of the last successful API answer
        self.limited_until: datetime | None = None  # the window is used up until then

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any):  # noqa: ANN201
        kwargs["timeout"] = self.timeout  # prawcore always passes its own 16 s; praw's setting is unused
        path = urlparse(str(url)).path
        token = path.endswith(TOKEN_PATH)
        if not token:
            self.check_window()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = super().request(method, url, *args, **kwargs)
            except TRANSIENT as exc:
                self._retry_or_fail(attempt, f"{type(exc).__name__} on {path}")
                continue
            status = response.status_code
            if status in RETRY_STATUSES:
                self._retry_or_fail(attempt, f"Reddit server error {status} on {path}")
                continue
            if status == 401 or (token and status in (400, 403)):
                raise CollectorAuthError(
                    f"Reddit rejected the app credentials ({status}): {CREDENTIALS_HELP}")
            if status == 429:
                until = self._reset_at(response) or self.clock() + self.rate_limit_fallback
                raise CollectorRateLimited(f"Reddit rate limit on {path} (429)", until)
            self._note_window(response)
            if 200 <= status < 300 and not token:
                self.last_body = response.text
            log.info("Reddit %s %s: %s", str(method).upper(), path, status)
            return response

    def check_window(self) -> None:
        """Refuse a request while Reddit's window is used up (prawcore would sleep until reset)."""
        if self.limited_until and self.clock() < self.limited_until:
            raise CollectorRateLimited("Reddit rate-limit window used up (x-ratelimit-remaining 0)",
                                       self.limited_until)

    def _reset_at(self, response: requests.Response) -> datetime | None:
        try:
            return self.clock() + timedelta(seconds=max(1.0, float(response.headers["x-ratelimit-reset"])))
        except (KeyError, TypeError, ValueError):
            return None

    def _note_window(self, response: requests.Response) -> None:
        try:
            remaining = float(response.headers["x-ratelimit-remaining"])
        except (KeyError, TypeError, ValueError):
            return
        if remaining < 1:
            self.limited_until = self._reset_at(response)
            if self.limited_until:
                log.warning("Reddit rate-limit window used up until %s", format_time(self.limited_until))

    def _retry_or_fail(self, attempt: int, reason: str) -> None:
        if attempt >= self.max_attempts:
            raise CollectorError(f"{reason}, gave up after {attempt} attempts")
        delay = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        log.warning("%s: retrying in %.0f s (attempt %d of %d)", reason, delay, attempt + 1,
                    self.max_attempts)
        self.sleep(delay)


@dataclass(frozen=True, slots=True)
class ListingState:
    """Checkpoint of one listing: watermark, and the cursor of an unfinished sweep."""

    newest_utc: float | None = None  # every item created at or before this is collected
    newest_name: str | None = None  # fullname of that newest item
    after: str | None = None  # unfinished sweep: cursor after the last stored page
    sweep_utc: float | None = None  # unfinished sweep: the newest item it saw
    sweep_name: str | None = None

    def to_json(self) -> str:
        return json.dumps({k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None})

    @classmethod
    def from_json(cls, text: str | None) -> ListingState:
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            return cls()
        return cls(**{k: data[k] for k in cls.__slots__ if data.get(k) is not None})


def build_search_queries(aliases: Sequence[str], *, max_length: int = MAX_QUERY_LENGTH) -> list[str]:
    """Agency names packed into `"a" OR "b" ...` queries that fit Reddit's length limit."""
    terms = list(dict.fromkeys(
        '"' + " ".join(a.replace('"', " ").split()) + '"' for a in aliases if a.strip()))
    queries: list[str] = []
    current = ""
    for term in terms:
        candidate = f"{current} OR {term}" if current else term
        if len(candidate) <= max_length:
            current = candidate
        else:
            if current:
                queries.append(current)
            current = term if len(term) <= max_length else ""
    if current:
        queries.append(current)
    return queries


class RedditCollector:
    """Pages from Reddit through praw; dependencies (clock, sleep, credentials) come in."""

    def __init__(self, client_id: str, client_secret: str, user_agent: str, *,
                 clock: Callable[[], datetime], sleep: Callable[[float], None], timeout: float = 16.0,
                 max_attempts: int = 4, backoff_base: float = 2.0) -> None:
        if not client_id or not client_secret:
            raise CollectorAuthError(f"no Reddit app credentials: {CREDENTIALS_HELP}")
        self.clock = clock
        self.sleep = sleep
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.session = RedditSession(timeout=timeout, clock=clock, sleep=sleep,
                                     max_attempts=max_attempts, backoff_base=backoff_base)
        self.reddit = praw.Reddit(client_id=client_id, client_secret=client_secret, user_agent=user_agent,
                                  check_for_updates=False,
                                  requestor_kwargs={"session": self.session})
        self.reddit.read_only = True

    # -- listings ----------------------------------------------------------------------------

    def new(self, subreddit: str, state: ListingState, **kw: Any) -> Iterator[Fetched]:
        return self._sweep(f"r/{subreddit}/new", {}, f"r/{subreddit}/new", state, **kw)

    def search(self, subreddit: str, query: str, state: ListingState, **kw: Any) -> Iterator[Fetched]:
        params = {"q": query, "restrict_sr": "on", "sort": "new", "t": "all", "syntax": "lucene"}
        return self._sweep(f"r/{subreddit}/search", params, f"r/{subreddit} search: {query}", state, **kw)

    def _sweep(self, path: str, params: dict[str, Any], query: str, state: ListingState, *,
               remaining: Callable[[], int], backfill: timedelta = timedelta(hours=24),
               page_size: int = MAX_LIMIT) -> Iterator[Fetched]:
        floor = state.newest_utc if state.newest_utc is not None else (self.clock() - backfill).timestamp()
        after, sweep_utc, sweep_name = state.after, state.sweep_utc, state.sweep_name
        while True:
            left = remaining()
            if left < 1:
                raise CollectorBudgetExhausted("Reddit request budget used up")
            page_params = {**params, "limit": max(1, min(page_size, MAX_LIMIT))}
            if after:
                page_params["after"] = after
            body, payload = self._get(path, page_params)
            children = rn.listing_children(payload)
            reached = False
            for child in children:
                created = _float(child.get("created_utc"))
                if (state.newest_name and child.get("name") == state.newest_name) or created < floor:
                    reached = True
                    break
                if sweep_utc is None or created > sweep_utc:
                    sweep_utc, sweep_name = created, str(child.get("name") or "") or None
            after = rn.listing_after(payload)
            if reached or not after or not children:
                if sweep_utc is not None and (state.newest_utc is None or sweep_utc > state.newest_utc):
                    next_state = ListingState(sweep_utc, sweep_name)
                else:
                    next_state = ListingState(state.newest_utc, state.newest_name)
                yield self._page(body, payload, query, f"GET /{path}", next_state.to_json())
                return
            next_state = ListingState(state.newest_utc, state.newest_name, after, sweep_utc, sweep_name)
            yield self._page(body, payload, query, f"GET /{path}", next_state.to_json())

    # -- comments and counts -----------------------------------------------------------------

    def comments(self, submission_id: str, *, query: str | None, remaining: Callable[[], int],
                 limit: int = 200) -> Fetched:
        """The comment tree of one submission (newest first, up to `limit`) as one page."""
        if remaining() < 1:
            raise CollectorBudgetExhausted("Reddit request budget used up")
        path = f"comments/{submission_id}"
        body, payload = self._get(path, {"sort": "new", "limit": limit})
        return self._page(body, payload, query, "GET /comments/{id}", None)

    def info(self, fullnames: Sequence[str], *, remaining: Callable[[], int]) -> Iterator[Fetched]:
        """Current score and comment counts of submissions by fullname, 100 per request."""
        names = list(dict.fromkeys(fullnames))
        for start in range(0, len(names), INFO_BATCH):
            if remaining() < 1:
                raise CollectorBudgetExhausted("Reddit request budget used up for metric refresh")
            chunk = names[start : start + INFO_BATCH]
            body, payload = self._get("api/info", {"id": ",".join(chunk)})
            yield self._page(body, payload, None, "GET /api/info", None)

    # -- internals ---------------------------------------------------------------------------

    def _page(self, body: str, payload: Any, query: str | None, endpoint: str,
              position: str | None) -> Fetched:
        fetched_at = self.clock()
        provenance = Provenance(NAME, VERSION, query, endpoint, fetched_at, sha256_text(body))
        posts, errors, stats = rn.normalize_listing(payload, fetched_at)
        problems = []
        if stats.more:
            problems.append(f"{stats.more} comments behind 'load more' not fetched")
        if stats.gone:
            problems.append(f"{stats.gone} removed or deleted items skipped")
        page = RawPage(body, provenance, tuple(CollectedPost(p, provenance) for p in posts),
                       tuple(errors), position)
        # Reddit meters requests, not items: the budget is billed one per page fetched.
        return Fetched(page, 1, tuple(problems), {"items": stats.items})

    def _get(self, path: str, params: dict[str, Any]) -> tuple[str, Any]:
        attempt = 0
        while True:
            attempt += 1
            self.session.check_window()  # before praw: its rate limiter sleeps before sending
            self.session.last_body = None
            try:
                payload = self.reddit.request(method="GET", path=path, params=params)
            except prawcore.RequestException as exc:
                original = exc.original_exception
                if isinstance(original, CollectorError):
                    raise original from None
                raise CollectorError(f"Reddit request to /{path} failed: {type(original).__name__}") from None
            except prawcore.BadJSON:
                self.session.last_body = None
                if attempt >= self.max_attempts:
                    raise CollectorError(
                        f"malformed JSON from /{path}, gave up after {attempt} attempts") from None
                delay = min(self.session.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
                log.warning("malformed JSON from /%s: retrying in %.0f s", path, delay)
                self.sleep(delay)
                continue
            except (prawcore.Forbidden, prawcore.NotFound, prawcore.Redirect,
                    prawcore.UnavailableForLegalReasons) as exc:
                raise RedditListingError(f"/{path}: {exc.response.status_code} (private, banned, "
                                         f"quarantined or missing subreddit)") from None
            except prawcore.OAuthException:
                raise CollectorAuthError(f"Reddit refused the token request: {CREDENTIALS_HELP}") from None
            except prawcore.ResponseException as exc:
                raise CollectorError(f"Reddit answered {exc.response.status_code} on /{path}") from None
            except praw.exceptions.RedditAPIException as exc:
                kind = exc.items[0].error_type if exc.items else ""
                raise RedditListingError(f"/{path}: Reddit API error {kind}") from None
            body = self.session.last_body
            if body is None or not isinstance(payload, (dict, list)):
                raise CollectorError(f"Reddit answered /{path} without a listing")
            return body, payload


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def fullname(submission_id: str) -> str:
    return f"t3_{submission_id}"

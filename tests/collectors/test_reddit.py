"""Reddit collector through praw's and prawcore's own code, Reddit faked at the HTTP layer.

The OAuth token endpoint and the listing endpoints answer with recorded-shape JSON. Sleep and
clock are injected: no test waits, and prawcore's own sleeping retry is never reached.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses

from collectors import reddit_normalize as rn
from collectors.base import CollectorAuthError, CollectorBudgetExhausted, CollectorError, CollectorRateLimited
from collectors.reddit import ListingState, RedditCollector, RedditListingError, build_search_queries

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reddit"
TOKEN_URL = "https://www.reddit.com/api/v1/access_token"
OAUTH = "https://oauth.reddit.com"
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
SECRET = "s3cr3t-client-secret"


def fixture(name: str):  # noqa: ANN201
    return json.loads((FIXTURES / f"{name}.json").read_text())


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def api():  # noqa: ANN201
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(TOKEN_URL, json=fixture("token"))
        yield mock


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def collector(sleeps: Sleeps, **kw: object) -> RedditCollector:
    return RedditCollector("client-id-123", SECRET, "linux:pantau-test:0.1 (by /u/pantau)",
                           clock=lambda: NOW, sleep=sleeps, **kw)


def unlimited() -> int:
    return 10**9


def query(call) -> dict[str, str]:  # noqa: ANN001
    return {k: v[0] for k, v in parse_qs(urlparse(call.request.url).query).items()}


def api_calls(api) -> list:  # noqa: ANN001
    return [c for c in api.calls if c.request.url.startswith(OAUTH)]


def test_new_listing_pages_through_praw_with_token_timeout_and_raw_bodies(api, sleeps) -> None:  # noqa: ANN001
    api.get(f"{OAUTH}/r/indonesia/new", json=fixture("new_page1"))
    api.get(f"{OAUTH}/r/indonesia/new", json=fixture("new_page2"))
    pages = list(collector(sleeps, timeout=9).new("indonesia", ListingState(), remaining=unlimited,
                                                  backfill=timedelta(hours=2)))
    token_call = api.calls[0]
    assert token_call.request.url == TOKEN_URL
    assert "grant_type=client_credentials" in str(token_call.request.body)
    calls = api_calls(api)
    assert calls[0].request.headers["Authorization"].startswith("bearer ")
    assert query(calls[0])["limit"] == "100" and "after" not in query(calls[0])
    assert query(calls[1])["after"] == "t3_1p4jx7c"
    assert calls[0].request.req_kwargs["timeout"] == 9
    assert [len(p.page.posts) for p in pages] == [3, 2] and sleeps == []
    assert pages[0].page.body == calls[0].response.text  # the listing as received

    post = pages[0].page.posts[0].post
    assert post.platform == "reddit" and post.post_id == "1p4k2aa"
    assert post.text.startswith("Pengalaman urus KTP di Dukcapil") and "\n\nKemarin ke kantor" in post.text
    assert post.url == "https://www.reddit.com/r/indonesia/comments/1p4k2aa/pengalaman_urus_ktp_di_dukcapil,_disuruh/"
    assert post.metrics[0].score == 154 and post.metrics[0].replies == 3
    assert post.created_at == NOW - timedelta(minutes=12)
    deleted = pages[0].page.posts[2].post
    assert deleted.author_handle is None and deleted.author_id is None
    prov = pages[0].page.provenance
    assert (prov.collector, prov.endpoint) == ("reddit", "GET /r/indonesia/new")
    assert prov.query == "r/indonesia/new"

    mid = ListingState.from_json(pages[0].page.position)
    assert mid.after == "t3_1p4jx7c" and mid.sweep_name == "t3_1p4k2aa" and mid.newest_utc is None
    done = ListingState.from_json(pages[1].page.position)
    newest = (NOW - timedelta(minutes=12)).timestamp()
    assert done == ListingState(newest_utc=newest, newest_name="t3_1p4k2aa")


def test_sweep_stops_at_the_watermark(api, sleeps) -> None:  # noqa: ANN001
    api.get(f"{OAUTH}/r/indonesia/new", json=fixture("new_page1"))
    watermark = ListingState(newest_utc=(NOW - timedelta(minutes=25)).timestamp(), newest_name="t3_1p4jz9b")
    pages = list(collector(sleeps).new("indonesia", watermark, remaining=unlimited))
    assert len(pages) == 1 and len(api_calls(api)) == 1  # "after" is set, but the old item was reached
    assert ListingState.from_json(pages[0].page.position).newest_name == "t3_1p4k2aa"


def test_search_sends_the_query_restricted_to_the_subreddit(api, sleeps) -> None:  # noqa: ANN001
    api.get(f"{OAUTH}/r/indonesia/search", json=fixture("search_page"))
    (page,) = collector(sleeps).search("indonesia", '"pln" OR "dukcapil"', ListingState(),
                                       remaining=unlimited, backfill=timedelta(hours=6))
    sent = query(api_calls(api)[0])
    assert sent["q"] == '"pln" OR "dukcapil"' and sent["restrict_sr"] == "on" and sent["sort"] == "new"
    assert page.page.provenance.query == 'r/indonesia search: "pln" OR "dukcapil"'
    assert len(page.page.posts) == 2


def test_comments_are_flattened_removed_skipped_and_more_counted(api, sleeps) -> None:  # noqa: ANN001
    api.get(f"{OAUTH}/comments/1p4k2aa", json=fixture("comments"))
    fetched = collector(sleeps).comments("1p4k2aa", query="r/indonesia/new", remaining=unlimited)
    posts = {c.post.post_id: c.post for c in fetched.page.posts}
    assert set(posts) == {"1p4k2aa", "m2c1aa1", "m2c3cc3"}  # the [removed] comment is not a post
    reply = posts["m2c3cc3"]
    assert reply.reply_to_id == "m2c1aa1" and reply.conversation_id == "1p4k2aa"
    assert posts["m2c1aa1"].reply_to_id == "1p4k2aa" and posts["m2c1aa1"].metrics[0].score == 40
    assert any("4 comments" in p for p in fetched.problems) and any("removed" in p for p in fetched.problems)
    assert query(api_calls(api)[0])["sort"] == "new"


def test_info_refreshes_counts_by_fullname(api, sleeps) -> None:  # noqa: ANN001
    api.get(f"{OAUTH}/api/info", json=fixture("info"))
    (page,) = collector(sleeps).info(["t3_1p4k2aa"], remaining=unlimited)
    assert query(api_calls(api)[0])["id"] == "t3_1p4k2aa"
    assert page.page.posts[0].post.metrics[0].score == 411 and page.page.posts[0].post.metrics[0].replies == 9


def test_429_raises_rate_limited_until_reddit_reset(api, sleeps) -> None:  # noqa: ANN001
    api.get(f"{OAUTH}/r/indonesia/new", status=429, json={"message": "Too Many Requests", "error": 429},
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-used": "100", "x-ratelimit-reset": "420"})
    with pytest.raises(CollectorRateLimited) as exc:
        list(collector(sleeps).new("indonesia", ListingState(), remaining=unlimited))
    assert exc.value.until == NOW + timedelta(seconds=420) and sleeps == []


def test_429_without_headers_uses_the_fallback_wait(api, sleeps) -> None:  # noqa: ANN001
    api.get(f"{OAUTH}/r/indonesia/new", status=429, body="Too Many Requests")
    with pytest.raises(CollectorRateLimited) as exc:
        list(collector(sleeps).new("indonesia", ListingState(), remaining=unlimited))
    assert exc.value.until == NOW + timedelta(minutes=10)


def test_used_up_window_refuses_the_next_request_instead_of_sleeping(api, sleeps) -> None:  # noqa: ANN001
    api.get(f"{OAUTH}/r/indonesia/new", json=fixture("new_page1"),
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-used": "100", "x-ratelimit-reset": "300"})
    pages = collector(sleeps).new("indonesia", ListingState(), remaining=unlimited,
                                  backfill=timedelta(hours=2))
    next(pages)  # the answer that used the window up is kept
    started = time.monotonic()
    with pytest.raises(CollectorRateLimited) as exc:
        next(pages)
    assert exc.value.until == NOW + timedelta(seconds=300) and time.monotonic() - started < 1
    assert len(api_calls(api)) == 1


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_retried_by_us_not_by_prawcore(api, sleeps, status: int) -> None:  # noqa: ANN001
    api.get(f"{OAUTH}/r/indonesia/new", status=status, body="<html>CDN cannot reach our servers</html>")
    api.get(f"{OAUTH}/r/indonesia/new", status=502, body="bad gateway")
    api.get(f"{OAUTH}/r/indonesia/new", json=fixture("new_page2"))
    started = time.monotonic()
    pages = list(collector(sleeps).new("indonesia", ListingState(), remaining=unlimited,
                                       backfill=timedelta(hours=2)))
    assert len(pages) == 1 and sleeps == [2.0, 4.0] and time.monotonic() - started < 1


def test_timeouts_give_up_after_max_attempts(api, sleeps) -> None:  # noqa: ANN001
    for _ in range(3):
        api.get(f"{OAUTH}/r/indonesia/new", body=requests.exceptions.ConnectTimeout("timed out"))
    with pytest.raises(CollectorError, match="ConnectTimeout.*gave up after 3 attempts"):
        list(collector(sleeps, max_attempts=3).new("indonesia", ListingState(), remaining=unlimited))
    assert sleeps == [2.0, 4.0]


def test_malformed_json_is_retried_then_reported(api, sleeps) -> None:  # noqa: ANN001
    api.get(f"{OAUTH}/r/indonesia/new", body='{"kind": "Listing", "data": {', content_type="application/json")
    with pytest.raises(CollectorError, match="malformed JSON"):
        list(collector(sleeps, max_attempts=2).new("indonesia", ListingState(), remaining=unlimited))
    assert sleeps == [2.0]


def test_bad_credentials_stop_with_a_fix_message(sleeps) -> None:  # noqa: ANN001
    with responses.RequestsMock() as api:
        api.post(TOKEN_URL, status=401, json={"message": "Unauthorized", "error": 401})
        with pytest.raises(CollectorAuthError) as exc:
            list(collector(sleeps).new("indonesia", ListingState(), remaining=unlimited))
    assert "PANTAU_REDDIT_CLIENT_ID" in str(exc.value) and SECRET not in str(exc.value)


def test_private_subreddit_is_a_listing_error_not_fatal(api, sleeps) -> None:  # noqa: ANN001
    api.get(f"{OAUTH}/r/rahasia/new", status=403,
            json={"reason": "private", "message": "Forbidden", "error": 403})
    with pytest.raises(RedditListingError, match="403"):
        list(collector(sleeps).new("rahasia", ListingState(), remaining=unlimited))


def test_empty_listing_ends_the_sweep(api, sleeps) -> None:  # noqa: ANN001
    api.get(f"{OAUTH}/r/indonesia/new", json={"kind": "Listing", "data": {"after": None, "children": []}})
    state = ListingState(newest_utc=1.0, newest_name="t3_a")
    (page,) = collector(sleeps).new("indonesia", state, remaining=unlimited)
    assert page.page.posts == () and ListingState.from_json(page.page.position) == state


def test_budget_stops_before_a_request(api, sleeps) -> None:  # noqa: ANN001
    with pytest.raises(CollectorBudgetExhausted):
        list(collector(sleeps).new("indonesia", ListingState(), remaining=lambda: 0))
    assert api_calls(api) == []


def test_search_queries_are_packed_under_the_limit() -> None:
    aliases = [f"badan nomor {i}" for i in range(80)] + ["pln", "pln"]
    queries = build_search_queries(aliases)
    assert len(queries) > 1 and all(len(q) <= 512 for q in queries)
    joined = " OR ".join(queries)
    assert joined.count('"pln"') == 1 and all(f'"badan nomor {i}"' in joined for i in range(80))


def test_normalised_listing_matches_golden_file() -> None:
    posts, errors, stats = rn.normalize_listing(fixture("new_page1"), NOW)
    golden = json.loads((FIXTURES / "new_page1.golden.json").read_text())
    assert errors == [] and stats.items == 3 and [p.to_dict() for p in posts] == golden


def test_unreadable_items_are_errors_not_crashes() -> None:
    listing = {"kind": "Listing", "data": {"after": None, "children": [
        {"kind": "t3", "data": {"id": "ok1", "title": "Antri paspor di Imigrasi", "created_utc": 1795330000}},
        {"kind": "t3", "data": {"id": "bad!", "title": "x", "created_utc": 1795330000}},
        {"kind": "t3", "data": {"id": "bad2", "title": "y", "created_utc": "kemarin"}},
        {"kind": "t3", "data": {"id": "bad3", "title": "", "created_utc": 1795330000}},
    ]}}
    posts, errors, stats = rn.normalize_listing(listing, NOW)
    assert [p.post_id for p in posts] == ["ok1"] and [e.line for e in errors] == [2, 3, 4]
    assert stats.items == 4

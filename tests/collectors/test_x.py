"""X collector through tweepy's own code, with X API v2 faked at the HTTP layer (`responses`).

No test sleeps (sleep is injected and recorded) or reads the real clock.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses

from collectors import x_normalize
from collectors.base import CollectorAuthError, CollectorBudgetExhausted, CollectorError, CollectorRateLimited
from collectors.x import (
    MAX_QUERY_LENGTH,
    SweepState,
    XCollector,
    XQuery,
    XQueryRejected,
    build_queries,
    snowflake_time,
)
from triage.agencies import Agency, Registry

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "x"
SEARCH = "https://api.twitter.com/2/tweets/search/recent"
LOOKUP = "https://api.twitter.com/2/tweets"
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
TOKEN = "AAAAAAAAAAAAAAAAAAAAAtest-bearer-token-do-not-log"
QUERY = XQuery("q:pln:test", "(@pln_123 OR pln) lang:id -is:retweet -from:pln_123")


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def api():  # noqa: ANN201
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def collector(sleeps: Sleeps, **kw: object) -> XCollector:
    return XCollector(TOKEN, clock=lambda: NOW, sleep=sleeps, **kw)


def params(call) -> dict[str, str]:  # noqa: ANN001
    return {k: v[0] for k, v in parse_qs(urlparse(call.request.url).query).items()}


def unlimited() -> int:
    return 10**9


def test_search_paginates_with_fields_expansions_timeout_and_keeps_raw_pages(api, sleeps) -> None:  # noqa: ANN001
    first, second = fixture("search_page1"), fixture("search_page2")
    api.get(SEARCH, json=first)
    api.get(SEARCH, json=second)
    pages = list(collector(sleeps, timeout=7.5).search(QUERY, SweepState(), remaining=unlimited))

    assert len(pages) == 2 and sleeps == []
    p1, p2 = params(api.calls[0]), params(api.calls[1])
    assert p1["query"] == QUERY.text and p1["max_results"] == "100" and "next_token" not in p1
    assert p1["expansions"] == "author_id" and p1["user.fields"] == "public_metrics,username"
    assert {"created_at", "public_metrics", "conversation_id", "referenced_tweets", "lang",
            "author_id"} <= set(p1["tweet.fields"].split(","))
    assert p1["start_time"] == "2026-11-21T08:00:00Z"  # first sweep: backfill of 24 h
    assert p2["next_token"] == first["meta"]["next_token"]
    assert api.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert api.calls[0].request.req_kwargs["timeout"] == 7.5  # tweepy sets none; we always do

    page = pages[0].page
    assert page.body == api.calls[0].response.text  # the raw page as received
    assert page.provenance.raw_sha256 and page.provenance.query == QUERY.text
    assert page.provenance.endpoint == "GET /2/tweets/search/recent" and page.provenance.collector == "x"
    posts = [c.post for c in page.posts]
    assert [p.author_handle for p in posts] == ["warga_johor", "dinda_rh", "ucok_mdn"]
    assert posts[0].author_followers == 1840 and posts[0].metrics[0].views == 1320
    assert posts[2].reply_to_id == posts[0].post_id
    assert posts[2].lang == "id"  # X says "in"; Pantau stores ISO 639-1
    assert pages[0].billed == 3 and pages[1].billed == 2

    mid, done = SweepState.from_json(pages[0].page.position), SweepState.from_json(pages[1].page.position)
    assert mid.in_sweep and mid.until_id == first["meta"]["oldest_id"]
    assert mid.newest_id == first["meta"]["newest_id"] and mid.since_id is None
    assert done == SweepState(since_id=first["meta"]["newest_id"])  # sweep finished: watermark moves


def test_resumed_sweep_asks_below_until_id_and_watermark_uses_since_id(api, sleeps) -> None:  # noqa: ANN001
    first = fixture("search_page1")
    api.get(SEARCH, json=fixture("search_page2"))
    state = SweepState(since_id="2124394949637046272", until_id=first["meta"]["oldest_id"],
                       newest_id=first["meta"]["newest_id"])
    (page,) = collector(sleeps).search(QUERY, state, remaining=unlimited)
    sent = params(api.calls[0])
    assert sent["until_id"] == first["meta"]["oldest_id"] and sent["since_id"] == "2124394949637046272"
    assert "start_time" not in sent
    assert SweepState.from_json(page.page.position) == SweepState(since_id=first["meta"]["newest_id"])


def test_watermark_older_than_the_search_window_restarts_from_the_window(api, sleeps) -> None:  # noqa: ANN001
    api.get(SEARCH, json=fixture("search_empty"))
    old = str((int((NOW - timedelta(days=8)).timestamp() * 1000) - 1288834974657) << 22)
    assert snowflake_time(old) < NOW - timedelta(days=7)
    (page,) = collector(sleeps).search(QUERY, SweepState(since_id=old), remaining=unlimited)
    sent = params(api.calls[0])
    assert "since_id" not in sent and sent["start_time"] == "2026-11-15T08:05:00Z"
    assert page.page.posts == () and page.billed == 0


def test_empty_result_keeps_the_watermark(api, sleeps) -> None:  # noqa: ANN001
    api.get(SEARCH, json=fixture("search_empty"))
    state = SweepState(since_id="2124412230169526731")
    (page,) = collector(sleeps).search(QUERY, state, remaining=unlimited)
    assert SweepState.from_json(page.page.position) == state


def test_429_with_reset_header_raises_rate_limited_until_reset_without_waiting(api, sleeps) -> None:  # noqa: ANN001
    reset = int((NOW + timedelta(minutes=12)).timestamp())
    api.get(SEARCH, json=fixture("error_429"), status=429,
            headers={"x-rate-limit-reset": str(reset), "x-rate-limit-remaining": "0"})
    with pytest.raises(CollectorRateLimited) as exc:
        list(collector(sleeps).search(QUERY, SweepState(), remaining=unlimited))
    assert exc.value.until == NOW + timedelta(minutes=12)
    assert "x-rate-limit-reset" in str(exc.value) and sleeps == [] and len(api.calls) == 1


def test_429_without_reset_header_backs_off_then_continues(api, sleeps) -> None:  # noqa: ANN001
    api.get(SEARCH, json=fixture("error_429"), status=429)
    api.get(SEARCH, json=fixture("error_429"), status=429)
    api.get(SEARCH, json=fixture("search_page2"))
    pages = list(collector(sleeps).search(QUERY, SweepState(), remaining=unlimited))
    assert len(pages) == 1 and sleeps == [15.0, 30.0]  # exponential, injected


def test_429_without_reset_header_gives_up_with_a_fallback_time(api, sleeps) -> None:  # noqa: ANN001
    api.get(SEARCH, json=fixture("error_429"), status=429)
    with pytest.raises(CollectorRateLimited) as exc:
        list(collector(sleeps, max_attempts=3).search(QUERY, SweepState(), remaining=unlimited))
    assert exc.value.until == NOW + timedelta(minutes=15) and len(api.calls) == 3
    assert sleeps == [15.0, 30.0] and "without reset header" in str(exc.value)


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried_with_backoff(api, sleeps, status: int) -> None:  # noqa: ANN001
    api.get(SEARCH, body="<html>upstream error</html>", status=status)
    api.get(SEARCH, json={"title": "Service Unavailable"}, status=503)
    api.get(SEARCH, json=fixture("search_page2"))
    pages = list(collector(sleeps).search(QUERY, SweepState(), remaining=unlimited))
    assert len(pages) == 1 and sleeps == [2.0, 4.0]


def test_timeouts_and_connection_errors_give_up_after_max_attempts(api, sleeps) -> None:  # noqa: ANN001
    api.get(SEARCH, body=requests.exceptions.ConnectTimeout("connect timed out"))
    api.get(SEARCH, body=requests.exceptions.ReadTimeout("read timed out"))
    api.get(SEARCH, body=requests.exceptions.ConnectionError("reset by peer"))
    api.get(SEARCH, body=requests.exceptions.ConnectTimeout("connect timed out"))
    with pytest.raises(CollectorError, match="gave up after 4 attempts") as exc:
        list(collector(sleeps).search(QUERY, SweepState(), remaining=unlimited))
    assert not isinstance(exc.value, CollectorRateLimited)
    assert sleeps == [2.0, 4.0, 8.0] and len(api.calls) == 4


def test_malformed_json_is_retried_then_reported(api, sleeps) -> None:  # noqa: ANN001
    api.get(SEARCH, body='{"data": [{"id": "1"', content_type="application/json")
    api.get(SEARCH, body="[]", content_type="application/json")
    with pytest.raises(CollectorError, match="malformed JSON"):
        list(collector(sleeps, max_attempts=2).search(QUERY, SweepState(), remaining=unlimited))
    assert sleeps == [2.0]


def test_cut_off_answers_are_billed_at_the_page_size_asked_for(api, sleeps) -> None:  # noqa: ANN001
    """X counts the posts of an answer it delivered even when the body arrived cut off: billing
    nothing for it undercounted the monthly cap by 11% in the storm drill."""
    api.get(SEARCH, body='{"data": [{"id": "1"', content_type="application/json")
    api.get(SEARCH, json=fixture("search_page2"))
    xc = collector(sleeps)
    (page,) = list(xc.search(QUERY, SweepState(), remaining=unlimited, page_size=40))
    assert page.billed == 40 + 2 and xc.take_unbilled() == 0
    api.get(SEARCH, body='{"data": [', content_type="application/json")  # then the run gives up
    xc = collector(sleeps, max_attempts=1)
    with pytest.raises(CollectorError):
        list(xc.search(QUERY, SweepState(), remaining=unlimited, page_size=25))
    assert xc.take_unbilled() == 25  # left for the run to bill


def test_401_says_which_setting_to_fix(api, sleeps) -> None:  # noqa: ANN001
    api.get(SEARCH, json=fixture("error_401"), status=401)
    with pytest.raises(CollectorAuthError) as exc:
        list(collector(sleeps).search(QUERY, SweepState(), remaining=unlimited))
    assert "401" in str(exc.value) and "PANTAU_X_BEARER_TOKEN" in str(exc.value)
    assert TOKEN not in str(exc.value) and len(api.calls) == 1


def test_403_explains_the_access_level(api, sleeps) -> None:  # noqa: ANN001
    api.get(SEARCH, json=fixture("error_403"), status=403)
    with pytest.raises(CollectorAuthError) as exc:
        list(collector(sleeps).search(QUERY, SweepState(), remaining=unlimited))
    assert "403" in str(exc.value) and "client-not-enrolled" in str(exc.value)
    assert "developer portal" in str(exc.value)


def test_400_rejects_only_that_query(api, sleeps) -> None:  # noqa: ANN001
    api.get(SEARCH, json=fixture("error_400"), status=400)
    with pytest.raises(XQueryRejected, match="missing closing parenthesis"):
        list(collector(sleeps).search(QUERY, SweepState(), remaining=unlimited))


def test_budget_sizes_max_results_and_stops_before_exceeding(api, sleeps) -> None:  # noqa: ANN001
    api.get(SEARCH, json=fixture("search_page1"))
    left = iter([35, 7])
    pages = collector(sleeps).search(QUERY, SweepState(), remaining=lambda: next(left))
    first = next(pages)
    assert params(api.calls[0])["max_results"] == "35" and first.billed == 3
    with pytest.raises(CollectorBudgetExhausted, match="7 posts left"):
        next(pages)
    assert len(api.calls) == 1  # no request that could overrun the budget


def test_lookup_batches_ids_and_records_partial_errors(api, sleeps) -> None:  # noqa: ANN001
    api.get(LOOKUP, json=fixture("lookup_partial"))
    api.get(LOOKUP, json={"data": []})
    ids = [str(2124412230169526731 + i) for i in range(150)]
    pages = list(collector(sleeps).lookup(ids, remaining=unlimited))
    assert [len(params(c)["ids"].split(",")) for c in api.calls] == [100, 50]
    first = pages[0]
    assert first.problems and first.problems[0].startswith("Not Found Error")
    assert first.billed == 2 and first.page.provenance.endpoint == "GET /2/tweets"
    assert first.page.provenance.query is None
    assert first.page.posts[1].post.metrics[0].likes == 512  # the refreshed counts


def test_bearer_token_never_reaches_the_logs(api, sleeps, caplog) -> None:  # noqa: ANN001
    caplog.set_level(logging.DEBUG)
    api.get(SEARCH, json=fixture("search_page2"))
    list(collector(sleeps).search(QUERY, SweepState(), remaining=unlimited))
    assert caplog.records  # we do log the request
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


def test_build_queries_per_agency_within_the_length_limit() -> None:
    long_aliases = tuple(f"nama panjang sekali nomor {i}" for i in range(40))
    registry = Registry([
        Agency("pln", "PT PLN", "listrik", aliases=("pln", "pln mobile"), handles={"x": ("pln_123",)}),
        Agency("big", "Badan Besar", "lainnya", aliases=long_aliases, handles={"x": ("BadanBesar",)}),
        Agency("none", "Tanpa Nama", "lainnya"),
    ])
    queries = build_queries(registry)
    pln = [q for q in queries if q.key.startswith("q:pln:")]
    assert [q.text for q in pln] == ['(@pln_123 OR pln OR "pln mobile") lang:id -is:retweet -from:pln_123']
    big = [q for q in queries if q.key.startswith("q:big:")]
    assert len(big) > 1 and all(len(q.text) <= MAX_QUERY_LENGTH for q in big)
    covered = " ".join(q.text for q in big)
    assert all(f'"{a}"' in covered for a in long_aliases) and "@BadanBesar" in covered
    assert not any(q.key.startswith("q:none:") for q in queries)
    assert len({q.key for q in queries}) == len(queries)
    bare = build_queries(registry, agencies=["pln"], exclude_retweets=False, include_aliases=False,
                         exclude_own_posts=False)
    assert [q.text for q in bare] == ["@pln_123 lang:id"]
    with pytest.raises(CollectorError, match="unknown agency"):
        build_queries(registry, agencies=["nope"])


def test_the_shipped_registry_builds_valid_queries() -> None:
    from pipelines.registry import load_registry
    from pipelines.settings import RESOURCES

    queries = build_queries(load_registry(RESOURCES / "agencies.toml"))
    assert len(queries) >= 40 and all(len(q.text) <= MAX_QUERY_LENGTH for q in queries)
    assert all(q.text.count("(") == q.text.count(")") for q in queries)
    assert all(len(q.key) <= 255 for q in queries)


def test_normalised_search_page_matches_golden_file() -> None:
    posts, errors = x_normalize.normalize_page(fixture("search_page1"), NOW)
    golden = json.loads((FIXTURES / "search_page1.golden.json").read_text())
    assert errors == [] and [p.to_dict() for p in posts] == golden

"""Collection runs end to end on SQLite and PostgreSQL: X and Reddit answer through `responses`,
tweepy/praw run their own code, pages land in the real store with provenance and checkpoints."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from sqlalchemy import func, select

from collectors.base import sha256_text
from pipelines import checkpoints
from pipelines.collect import REDDIT_DEFAULTS, collect_once, reddit_budget, run_reddit, run_x, source_config
from pipelines.context import AppContext
from pipelines.schedule import refresh_reddit, refresh_x
from pipelines.settings import load_settings
from pipelines.store import schema as s
from tests.conftest import FrozenClock

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SEARCH = "https://api.twitter.com/2/tweets/search/recent"
LOOKUP = "https://api.twitter.com/2/tweets"
TOKEN_URL = "https://www.reddit.com/api/v1/access_token"
OAUTH = "https://oauth.reddit.com"
REGISTRY = """
[[agency]]
id = "pln"
name = "PT PLN (Persero)"
aliases = ["pln", "pln mobile"]
keywords = ["token listrik"]
substance = "listrik"
[agency.handles]
x = ["pln_123"]

[[agency]]
id = "dukcapil"
name = "Ditjen Dukcapil"
aliases = ["dukcapil", "disdukcapil"]
keywords = ["e-ktp"]
substance = "administrasi_kependudukan"
[agency.handles]
x = ["ditjendukcapil"]

[[agency]]
id = "bpjs_kesehatan"
name = "BPJS Kesehatan"
aliases = ["bpjs kesehatan"]
keywords = ["faskes"]
substance = "jaminan_sosial"

[[agency]]
id = "krl"
name = "KAI Commuter"
aliases = ["krl", "commuter line"]
substance = "perhubungan"
"""


def x_fixture(name: str) -> dict:
    return json.loads((FIXTURES / "x" / f"{name}.json").read_text())


def r_fixture(name: str):  # noqa: ANN201
    return json.loads((FIXTURES / "reddit" / f"{name}.json").read_text())


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def context(db_url: str, tmp_path: Path, clock: FrozenClock, config: str = "", **secrets: str) -> AppContext:
    (tmp_path / "agencies.toml").write_text(REGISTRY)
    (tmp_path / "pantau.toml").write_text(config)
    settings = load_settings(
        {"database_url": db_url, "data_dir": str(tmp_path), "pseudonym_key": "test-pseudonym-key",
         "registry_path": str(tmp_path / "agencies.toml"), **secrets},
        env={}, config_path=tmp_path / "pantau.toml")
    return AppContext(settings, clock=clock)


X_CONFIG = '[sources.x]\nagencies = ["pln"]\npace_budget = false\n'


@pytest.fixture
def xctx(db_url: str, tmp_path: Path, clock: FrozenClock):  # noqa: ANN201
    ctx = context(db_url, tmp_path, clock, X_CONFIG, x_bearer_token="test-token")
    yield ctx
    ctx.close()


@pytest.fixture
def xlite(sqlite_url: str, tmp_path: Path, clock: FrozenClock):  # noqa: ANN201
    """SQLite only: for behaviour that does not depend on the dialect (keeps the suite fast)."""
    ctx = context(sqlite_url, tmp_path, clock, X_CONFIG, x_bearer_token="test-token")
    yield ctx
    ctx.close()


@pytest.fixture
def api():  # noqa: ANN201
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def count(ctx: AppContext, table) -> int:  # noqa: ANN001
    with ctx.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def sent(call) -> dict[str, str]:  # noqa: ANN001
    return {k: v[0] for k, v in parse_qs(urlparse(call.request.url).query).items()}


def x_checkpoint(ctx: AppContext) -> dict:
    (saved,) = checkpoints.load_all(ctx.engine, "x", prefix="q:").values()
    return json.loads(saved.value)


def last_run(ctx: AppContext, source: str):  # noqa: ANN201
    r = s.collector_runs
    with ctx.engine.connect() as conn:
        return conn.execute(select(r).where(r.c.source == source).order_by(r.c.id.desc())).first()


def test_x_run_stores_posts_with_provenance_then_moves_the_checkpoint(xctx, api) -> None:  # noqa: ANN001
    first = x_fixture("search_page1")
    api.get(SEARCH, json=first)
    api.get(SEARCH, json=x_fixture("search_page2"))
    (result,) = run_x(xctx, sleep=Sleeps())
    assert (result.status, result.posts_new, result.pages) == ("ok", 5, 2)

    with xctx.engine.connect() as conn:
        rows = conn.execute(select(s.posts, s.raw_pages.c.body, s.raw_pages.c.sha256.label("page_sha"))
                            .join(s.raw_pages, s.raw_pages.c.id == s.posts.c.raw_page_id)).all()
    assert len(rows) == 5
    for row in rows:
        assert (row.collector, row.collector_version) == ("x", "0.1.0")
        assert row.query.startswith("(@pln_123 OR pln") and row.endpoint == "GET /2/tweets/search/recent"
        assert row.fetched_at == xctx.clock() and row.raw_sha256 == row.page_sha == sha256_text(row.body)
    assert json.loads(rows[0].body)["meta"]["result_count"] in (2, 3)  # raw page kept as received
    assert x_checkpoint(xctx) == {"since_id": first["meta"]["newest_id"]}
    run = last_run(xctx, "x")
    assert (run.status, run.pages, run.posts_fetched, run.posts_new) == ("ok", 2, 5, 5)
    assert count(xctx, s.metric_snapshots) == 5


def test_x_next_run_continues_from_the_checkpoint_without_duplicates(xctx, api) -> None:  # noqa: ANN001
    first = x_fixture("search_page1")
    api.get(SEARCH, json=first)
    api.get(SEARCH, json=x_fixture("search_page2"))
    run_x(xctx, sleep=Sleeps())
    xctx.clock.advance(minutes=15)
    api.get(SEARCH, json=x_fixture("search_newer"))
    (result,) = run_x(xctx, sleep=Sleeps())
    assert sent(api.calls[2])["since_id"] == first["meta"]["newest_id"]
    assert "start_time" not in sent(api.calls[2])
    assert result.posts_new == 1 and count(xctx, s.posts) == 6
    assert x_checkpoint(xctx) == {"since_id": x_fixture("search_newer")["meta"]["newest_id"]}


def test_x_sweep_cut_short_resumes_below_the_last_stored_page(db_url, tmp_path, clock, api) -> None:  # noqa: ANN001
    ctx = context(db_url, tmp_path, clock, X_CONFIG + "max_pages_per_query = 1\n", x_bearer_token="t")
    first = x_fixture("search_page1")
    api.get(SEARCH, json=first)
    run_x(ctx, sleep=Sleeps())
    assert x_checkpoint(ctx)["until_id"] == first["meta"]["oldest_id"] and count(ctx, s.posts) == 3
    api.get(SEARCH, json=x_fixture("search_page2"))
    run_x(ctx, sleep=Sleeps())
    resumed = sent(api.calls[1])
    assert resumed["until_id"] == first["meta"]["oldest_id"] and "next_token" not in resumed
    assert resumed["start_time"] == "2026-11-21T08:00:00Z"  # the first sweep's own bound
    assert x_checkpoint(ctx) == {"since_id": first["meta"]["newest_id"]}  # no gap, watermark moved
    assert count(ctx, s.posts) == 5
    ctx.close()


def test_x_page_committed_but_checkpoint_lost_is_fetched_again_without_duplicates(xctx, api) -> None:  # noqa: ANN001
    for _ in range(2):
        api.get(SEARCH, json=x_fixture("search_page1"))
        api.get(SEARCH, json=x_fixture("search_page2"))
    run_x(xctx, sleep=Sleeps())
    (key,) = checkpoints.load_all(xctx.engine, "x", prefix="q:")
    checkpoints.delete(xctx.engine, "x", key)  # what a SIGKILL between the two commits leaves
    xctx.clock.advance(minutes=1)
    (result,) = run_x(xctx, sleep=Sleeps())
    assert result.posts_new == 0 and result.posts_fetched == 5
    assert count(xctx, s.posts) == 5 and count(xctx, s.raw_pages) == 2  # same bodies, same pages
    assert count(xctx, s.metric_snapshots) == 10  # the second look is a new snapshot, not a new post


def test_x_stop_flag_finishes_the_page_in_flight(xlite, api) -> None:  # noqa: ANN001
    api.get(SEARCH, json=x_fixture("search_page1"))
    api.get(SEARCH, json=x_fixture("search_page2"))
    flags = iter([False])  # SIGTERM arrives while the first page is in flight
    (result,) = run_x(xlite, sleep=Sleeps(), should_stop=lambda: next(flags, True))
    assert (result.status, result.pages, len(api.calls)) == ("stopped", 1, 1)
    assert "until_id" in x_checkpoint(xlite) and count(xlite, s.posts) == 3


def test_x_rate_limit_is_recorded_with_its_end(xlite, api) -> None:  # noqa: ANN001
    reset = xlite.clock() + timedelta(minutes=12)
    api.get(SEARCH, status=429, json=x_fixture("error_429"),
            headers={"x-rate-limit-reset": str(int(reset.timestamp()))})
    (result,) = run_x(xlite, sleep=Sleeps())
    assert result.status == "rate_limited" and result.retry_at == reset
    run = last_run(xlite, "x")
    assert run.rate_limited_until == reset and "rate-limited until 2026-11-22 08:12" in run.message


def test_x_bad_token_stops_the_source_with_the_fix(xlite, api) -> None:  # noqa: ANN001
    api.get(SEARCH, status=401, json=x_fixture("error_401"))
    (result,) = run_x(xlite, sleep=Sleeps())
    assert result.status == "auth_error" and "PANTAU_X_BEARER_TOKEN" in result.message
    assert "test-token" not in last_run(xlite, "x").message


def test_x_rejected_query_is_skipped_and_the_others_run(sqlite_url, tmp_path, clock, api) -> None:  # noqa: ANN001
    config = '[sources.x]\nagencies = ["pln", "dukcapil"]\n'
    ctx = context(sqlite_url, tmp_path, clock, config, x_bearer_token="t")
    api.get(SEARCH, status=400, json=x_fixture("error_400"))
    api.get(SEARCH, json=x_fixture("search_page2"))
    (result,) = run_x(ctx, sleep=Sleeps())
    assert result.status == "partial" and result.posts_new == 2 and "skipped" in result.message
    ctx.close()


def test_x_monthly_budget_sizes_requests_and_stops_until_a_page_fits(db_url, tmp_path, clock, api) -> None:  # noqa: ANN001, E501
    ctx = context(db_url, tmp_path, clock, X_CONFIG + "monthly_post_budget = 13\n", x_bearer_token="t")
    api.get(SEARCH, json=x_fixture("search_page1"))
    api.get(SEARCH, json=x_fixture("search_page2"))
    (result,) = run_x(ctx, sleep=Sleeps())
    assert [sent(c)["max_results"] for c in api.calls] == ["13", "10"] and result.status == "ok"
    assert checkpoints.load(ctx.engine, "x", "budget:2026-11-01") == "5"
    (result,) = run_x(ctx, sleep=Sleeps())
    assert result.status == "budget_exhausted" and len(api.calls) == 2  # 8 left: no page fits
    assert result.retry_at is None  # not used up: the next run may fit once a page can
    ctx.close()


def test_x_run_that_gives_up_on_cut_off_answers_still_bills_them(sqlite_url, tmp_path, clock, api) -> None:  # noqa: ANN001, E501
    ctx = context(sqlite_url, tmp_path, clock, X_CONFIG + "max_attempts = 2\npage_size = 30\n",
                  x_bearer_token="t")
    for _ in range(2):
        api.get(SEARCH, body='{"data": [{"id": "1"', content_type="application/json")
    (result,) = run_x(ctx, sleep=Sleeps())
    assert result.status == "error" and "malformed JSON" in result.message
    assert checkpoints.load(ctx.engine, "x", "budget:2026-11-01") == "60"  # two deliveries of 30
    ctx.close()


def test_x_budget_used_up_waits_for_the_next_period(sqlite_url, tmp_path, clock, api) -> None:  # noqa: ANN001
    ctx = context(sqlite_url, tmp_path, clock, X_CONFIG + "monthly_post_budget = 5\n", x_bearer_token="t")
    (result,) = run_x(ctx, sleep=Sleeps())
    assert result.status == "budget_exhausted" and len(api.calls) == 0
    ctx2 = context(sqlite_url, tmp_path, clock, X_CONFIG + "monthly_post_budget = 12\n", x_bearer_token="t")
    api.get(SEARCH, json=x_fixture("search_newer"))
    run_x(ctx2, sleep=Sleeps())
    checkpoints.save(ctx2.engine, "x", "budget:2026-11-01", "12", clock())
    (result,) = run_x(ctx2, sleep=Sleeps())
    assert result.retry_at == datetime(2026, 12, 1, tzinfo=timezone.utc)
    ctx.close()
    ctx2.close()


def test_x_metric_refresh_appends_snapshots_and_records_missing_posts(xctx, api) -> None:  # noqa: ANN001
    api.get(SEARCH, json=x_fixture("search_page1"))
    api.get(SEARCH, json=x_fixture("search_page2"))
    run_x(xctx, sleep=Sleeps())
    assert refresh_x(xctx, sleep=Sleeps())[0].message == "no posts due"  # just collected
    xctx.clock.advance(minutes=20)
    api.get(LOOKUP, json=x_fixture("lookup_partial"))
    (result,) = refresh_x(xctx, sleep=Sleeps())
    lookup = [c for c in api.calls if urlparse(c.request.url).path == "/2/tweets"]
    assert len(sent(lookup[0])["ids"].split(",")) == 5
    assert result.status == "partial" and "Not Found Error" in result.message
    assert count(xctx, s.metric_snapshots) == 7 and count(xctx, s.posts) == 5
    with xctx.engine.connect() as conn:
        endpoints = conn.execute(select(s.raw_pages.c.endpoint)).scalars().all()
    assert "GET /2/tweets" in endpoints
    assert checkpoints.load(xctx.engine, "x", "budget:2026-11-01:lookup") == "2"


def test_sources_without_credentials_are_not_configured(sqlite_url, tmp_path, clock) -> None:  # noqa: ANN001
    ctx = context(sqlite_url, tmp_path, clock)
    results = {r.source: r for r in collect_once(ctx)}
    assert results["x"].status == "not_configured" and "PANTAU_X_BEARER_TOKEN" in results["x"].message
    assert results["reddit"].status == "not_configured"
    assert "PANTAU_REDDIT_CLIENT_SECRET" in results["reddit"].message
    assert count(ctx, s.collector_runs) == 0
    ctx.close()


REDDIT_CONFIG = "[sources.reddit]\nsearch = false\n"


@pytest.fixture
def rctx(db_url: str, tmp_path: Path, clock: FrozenClock):  # noqa: ANN201
    ctx = context(db_url, tmp_path, clock, REDDIT_CONFIG, reddit_client_id="cid",
                  reddit_client_secret="csecret")
    yield ctx
    ctx.close()


def post_ids(ctx: AppContext) -> set[str]:
    with ctx.engine.connect() as conn:
        return set(conn.execute(select(s.posts.c.post_id)).scalars())


def test_reddit_run_keeps_posts_about_agencies_and_their_comments(rctx, api) -> None:  # noqa: ANN001
    api.post(TOKEN_URL, json=r_fixture("token"))
    api.get(f"{OAUTH}/r/indonesia/new", json=r_fixture("new_page1"))
    api.get(f"{OAUTH}/comments/1p4k2aa", json=r_fixture("comments"))
    api.get(f"{OAUTH}/r/indonesia/new", json=r_fixture("new_page2"))
    (result,) = run_reddit(rctx, sleep=Sleeps())
    assert result.status == "partial"  # the removed comment and the "more" stub are noted
    assert post_ids(rctx) == {"1p4k2aa", "1p4jx7c", "1p4jv1d", "m2c1aa1", "m2c3cc3"}
    assert count(rctx, s.raw_pages) == 3  # two listings and one comment page, whole
    saved = json.loads(checkpoints.load(rctx.engine, "reddit", "r/indonesia:new"))
    assert saved["newest_name"] == "t3_1p4k2aa" and "after" not in saved

    rctx.clock.advance(minutes=10)
    api.get(f"{OAUTH}/r/indonesia/new", json=r_fixture("new_page1"))
    (again,) = run_reddit(rctx, sleep=Sleeps())
    assert again.posts_new == 0 and again.pages == 1  # stopped at the watermark, no duplicates
    assert count(rctx, s.posts) == 5


def test_reddit_budget_counts_requests_not_items_read_again(rctx, api) -> None:  # noqa: ANN001
    """Reddit meters requests; billing every item of every poll (most of them read before) used
    the monthly guard up within days."""
    api.post(TOKEN_URL, json=r_fixture("token"))
    api.get(f"{OAUTH}/r/indonesia/new", json=r_fixture("new_page1"))
    api.get(f"{OAUTH}/comments/1p4k2aa", json=r_fixture("comments"))
    api.get(f"{OAUTH}/r/indonesia/new", json=r_fixture("new_page2"))
    (first,) = run_reddit(rctx, sleep=Sleeps())
    for _ in range(3):  # polls that find nothing new still read a page each
        rctx.clock.advance(minutes=10)
        api.get(f"{OAUTH}/r/indonesia/new", json=r_fixture("new_page1"))
        run_reddit(rctx, sleep=Sleeps())
    status = reddit_budget(rctx, source_config(rctx.settings, "reddit", REDDIT_DEFAULTS)).status()
    assert (status.used, status.unit) == (first.pages + 3, "requests")
    assert status.to_dict()["unit"] == "requests"


def test_reddit_metric_refresh_snapshots_counts_and_fetches_new_comments(rctx, api) -> None:  # noqa: ANN001
    api.post(TOKEN_URL, json=r_fixture("token"))
    api.get(f"{OAUTH}/r/indonesia/new", json=r_fixture("new_page1"))
    api.get(f"{OAUTH}/comments/1p4k2aa", json=r_fixture("comments"))
    api.get(f"{OAUTH}/r/indonesia/new", json=r_fixture("new_page2"))
    run_reddit(rctx, sleep=Sleeps())
    rctx.clock.advance(minutes=20)
    api.get(f"{OAUTH}/api/info", json=r_fixture("info"))
    api.get(f"{OAUTH}/comments/1p4k2aa", json=r_fixture("comments"))
    (result,) = refresh_reddit(rctx, sleep=Sleeps())
    info = [c for c in api.calls if urlparse(c.request.url).path == "/api/info"]
    assert set(sent(info[0])["id"].split(",")) == {"t3_1p4k2aa", "t3_1p4jx7c", "t3_1p4jv1d"}
    assert result.source == "reddit-metrics" and result.pages == 2  # 9 comments now, 2 stored: refetch
    with rctx.engine.connect() as conn:
        scores = conn.execute(select(s.metric_snapshots.c.score).join(s.posts).where(
            s.posts.c.post_id == "1p4k2aa").order_by(s.metric_snapshots.c.at)).scalars().all()
    assert scores == [154, 411]


def test_reddit_private_subreddit_is_skipped_not_fatal(sqlite_url, tmp_path, clock, api) -> None:  # noqa: ANN001
    config = '[sources.reddit]\nsearch = false\nsubreddits = ["rahasia", "indonesia"]\n'
    ctx = context(sqlite_url, tmp_path, clock, config, reddit_client_id="cid", reddit_client_secret="csecret")
    api.post(TOKEN_URL, json=r_fixture("token"))
    api.get(f"{OAUTH}/r/rahasia/new", status=403, json={"reason": "private", "message": "Forbidden"})
    api.get(f"{OAUTH}/r/indonesia/new", json=r_fixture("new_page2"))
    (result,) = run_reddit(ctx, sleep=Sleeps())
    assert result.status == "partial" and "r/rahasia:new skipped" in result.message
    assert post_ids(ctx) == {"1p4jv1d"}
    ctx.close()

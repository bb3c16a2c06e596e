"""File import: our JSONL, twarc2 pages and tweet-harvest CSV, stored idempotently."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from collectors.base import CollectorError
from collectors.files import detect_format, read_pages
from pipelines.run import import_file
from pipelines.store import schema as s

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "files"
NOW = datetime(2026, 11, 22, 8, tzinfo=timezone.utc)


def _count(engine, table) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_twarc2_pages_normalise_tweets_users_and_references() -> None:
    pages = list(read_pages(FIXTURES / "twarc2_search.jsonl", "twarc2", NOW))
    posts = [c.post for page in pages for c in page.posts]
    assert [p.post_id for p in posts] == [
        "1860000000000000001", "1860000000000000003", "1860000000000000004"]  # retweet skipped
    first, reply = posts[0], posts[1]
    assert first.author_handle == "medan_warga" and first.author_followers == 321
    assert first.metrics[0].views == 900 and first.metrics[0].engagement == 15
    assert reply.reply_to_id == "1860000000000000001"
    assert pages[0].posts[0].provenance.query == "@pln_123 lang:id"
    assert pages[0].posts[0].provenance.fetched_at == datetime(2026, 11, 20, 12, 10, tzinfo=timezone.utc)
    errors = [e for page in pages for e in page.errors]
    assert [e.line for e in errors] == [2, 3]  # bad tweet id on page 2, truncated page 3


def test_tweet_harvest_csv_reports_bad_rows_by_line() -> None:
    pages = list(read_pages(FIXTURES / "tweet_harvest.csv", "tweet-harvest", NOW))
    posts = [c.post for page in pages for c in page.posts]
    assert [p.post_id for p in posts] == ["1879906777279729751", "1879906777279729752"]
    assert posts[0].created_at == datetime(2025, 1, 15, 3, 27, 9, tzinfo=timezone.utc)
    assert posts[0].metrics[0].likes == 83 and posts[0].metrics[0].reposts == 24
    assert "\n" in posts[1].text  # quoted multi-line field kept whole
    errors = {e.line: e.message for page in pages for e in page.errors}
    assert sorted(errors) == [5, 6, 7]  # CSV records end on these physical lines
    assert "id_str" in errors[5] and "created_at" in errors[6] and "not a count" in errors[7]


def test_jsonl_rows_with_bad_json_utf8_or_fields_are_skipped(tmp_path: Path) -> None:
    good = {"platform": "x", "post_id": "1", "text": "halo @pln_123", "created_at": "2026-11-20T00:00:00Z"}
    path = tmp_path / "posts.jsonl"
    path.write_bytes(
        (json.dumps(good) + "\n").encode()
        + b'{"platform": "x", "post_id": "2", "text": "\xff\xfe broken"}\n'
        + b"not json\n"
        + json.dumps({**good, "post_id": "3", "text": ""}).encode() + b"\n"
        + json.dumps({**good, "post_id": "4"}).encode() + b"\n"
    )
    pages = list(read_pages(path, None, NOW))
    assert [c.post.post_id for p in pages for c in p.posts] == ["1", "4"]
    assert {e.line: e.message for p in pages for e in p.errors} == {
        2: "not valid UTF-8", 3: "not valid JSON (Expecting value)", 4: "text: missing"}


def test_format_detection_and_clear_errors(tmp_path: Path) -> None:
    assert detect_format(FIXTURES / "twarc2_search.jsonl") == "twarc2"
    assert detect_format(FIXTURES / "tweet_harvest.csv") == "tweet-harvest"
    with pytest.raises(CollectorError, match="file not found"):
        list(read_pages(tmp_path / "missing.jsonl", None, NOW))
    with pytest.raises(CollectorError, match="unknown format"):
        list(read_pages(FIXTURES / "tweet_harvest.csv", "excel", NOW))
    bad_csv = tmp_path / "x.csv"
    bad_csv.write_text("a,b\n1,2\n")
    with pytest.raises(CollectorError, match="missing column"):
        list(read_pages(bad_csv, None, NOW))


def test_import_twice_adds_no_duplicates(app_ctx) -> None:  # noqa: ANN001
    for path in (FIXTURES / "twarc2_search.jsonl", FIXTURES / "tweet_harvest.csv"):
        first = import_file(app_ctx, path, None)
        assert first.posts_new > 0
    counts = {t.name: _count(app_ctx.engine, t) for t in (s.posts, s.raw_pages, s.metric_snapshots)}
    again = import_file(app_ctx, FIXTURES / "twarc2_search.jsonl", None)
    assert again.posts_new == 0 and again.pages_new == 0 and again.snapshots_new == 0
    assert {t.name: _count(app_ctx.engine, t) for t in (s.posts, s.raw_pages, s.metric_snapshots)} == counts
    assert counts["posts"] == 5


def test_stored_posts_carry_provenance_redaction_and_pseudonym(app_ctx) -> None:  # noqa: ANN001
    import_file(app_ctx, FIXTURES / "twarc2_search.jsonl", "twarc2")
    with app_ctx.engine.connect() as conn:
        row = conn.execute(select(s.posts).where(s.posts.c.post_id == "1860000000000000003")).one()
        page = conn.execute(select(s.raw_pages).where(s.raw_pages.c.id == row.raw_page_id)).one()
    assert row.collector == "file" and row.query == "@pln_123 lang:id"
    assert row.raw_sha256 == page.sha256 and json.loads(page.body)["meta"]["result_count"] == 3
    assert row.author_pseudonym.startswith("a:") and "113" not in row.author_pseudonym
    assert "@ditjendukcapil" in row.redacted_text  # agency handles are never redacted
    assert row.triage_state == "pending"

"""Records of the pure core: validation and exact JSON round trips."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from triage.errors import RecordError
from triage.records import MetricSnapshot, Post, Provenance, format_time, parse_time

POST = {
    "platform": "x",
    "post_id": "1879859779184820459",
    "url": "https://x.com/warga/status/1879859779184820459",
    "author_id": "42",
    "author_handle": "warga_bdg",
    "author_followers": 1840,
    "text": "listrik padam dr sore @pln_123",
    "lang": "id",
    "created_at": "2026-11-22T07:58:40Z",
    "reply_to_id": None,
    "quote_of_id": None,
    "conversation_id": "1879859779184820459",
    "metrics": [
        {"at": "2026-11-22T08:30:00Z", "reposts": 12, "quotes": 1, "replies": 4, "likes": 40},
        {"at": "2026-11-22T08:10:00Z", "reposts": 2, "quotes": 0, "replies": 1, "likes": 5, "views": 900},
    ],
}


def test_post_round_trips_through_json_dict() -> None:
    post = Post.from_dict(POST)
    assert Post.from_dict(post.to_dict()) == post
    assert [m.at.minute for m in post.metrics] == [10, 30]  # sorted by time
    assert post.key == "x:1879859779184820459"


def test_snapshot_engagement_sums_counts_and_reddit_score() -> None:
    snap = MetricSnapshot.from_dict({"at": "2026-11-22T08:00:00Z", "reposts": 1, "quotes": 2, "replies": 3,
                                     "likes": 4})
    assert snap.engagement == 10
    reddit = MetricSnapshot.from_dict({"at": "2026-11-22T08:00:00Z", "score": -5, "comments": 7})
    assert reddit.score == -5 and reddit.replies == 7 and reddit.engagement == 7


def test_provenance_round_trip() -> None:
    prov = Provenance("x", "0.1.0", "@pln_123 lang:id", "GET /2/tweets/search/recent",
                      datetime(2026, 11, 22, 8, tzinfo=timezone.utc), "ab" * 32)
    assert Provenance.from_dict(prov.to_dict()) == prov


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"text": "  "}, "text"),
        ({"post_id": ""}, "post_id"),
        ({"platform": "tiktok"}, "platform"),
        ({"created_at": "kemarin"}, "created_at"),
        ({"author_followers": -3}, "negative"),
        ({"metrics": [{"at": "2026-11-22T08:00:00Z", "likes": "banyak"}]}, "likes"),
    ],
)
def test_invalid_fields_are_named(change: dict, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        Post.from_dict({**POST, **change})


def test_times_are_utc_with_z() -> None:
    dt = parse_time("2026-11-22T15:00:00+07:00")
    assert dt == datetime(2026, 11, 22, 8, tzinfo=timezone.utc)
    assert format_time(dt) == "2026-11-22T08:00:00Z"

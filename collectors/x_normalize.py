"""Pure normalisers for X API v2 payloads (search and lookup pages, twarc2 output).

Shared by the live X collector and the twarc2 file importer, so a tweet is read one way only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from collectors.base import RowError
from triage.errors import RecordError
from triage.records import MetricSnapshot, Post, parse_time

X_STATUS_URL = "https://x.com/{handle}/status/{id}"
# X answers with the retired ISO 639 code "in" for Indonesian (its queries take "lang:id").
LANG_ALIASES = {"in": "id"}


def normalize_tweet(
    tweet: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]], fetched_at: datetime
) -> Post:
    """One v2 tweet object (with the page's users by id) -> Post with one metric snapshot."""
    if not isinstance(tweet, Mapping):
        raise RecordError("tweet is not an object")
    tweet_id = str(tweet.get("id") or "")
    if not tweet_id.isdigit():
        raise RecordError(f"tweet id missing or not numeric: {tweet.get('id')!r}")
    note = tweet.get("note_tweet")
    text = note.get("text") if isinstance(note, Mapping) and note.get("text") else tweet.get("text")
    author_id = str(tweet.get("author_id") or "") or None
    user = users.get(author_id or "", {})
    handle = user.get("username") if isinstance(user, Mapping) else None
    followers = None
    if isinstance(user, Mapping) and isinstance(user.get("public_metrics"), Mapping):
        followers = user["public_metrics"].get("followers_count")
    refs = {
        r.get("type"): str(r.get("id"))
        for r in tweet.get("referenced_tweets") or []
        if isinstance(r, Mapping)
    }
    metrics = tweet.get("public_metrics")
    snapshots: tuple[MetricSnapshot, ...] = ()
    if isinstance(metrics, Mapping):
        snapshots = (
            MetricSnapshot.from_dict(
                {
                    "at": fetched_at,
                    "reposts": metrics.get("retweet_count"),
                    "quotes": metrics.get("quote_count"),
                    "replies": metrics.get("reply_count"),
                    "likes": metrics.get("like_count"),
                    "views": metrics.get("impression_count"),
                }
            ),
        )
    return Post(
        platform="x",
        post_id=tweet_id,
        text=str(text or ""),
        created_at=parse_time(tweet.get("created_at"), field_name="created_at"),
        url=X_STATUS_URL.format(handle=handle or "i/web", id=tweet_id),
        author_id=author_id,
        author_handle=handle,
        author_followers=followers,
        lang=LANG_ALIASES.get(tweet.get("lang"), tweet.get("lang")),
        reply_to_id=refs.get("replied_to"),
        quote_of_id=refs.get("quoted"),
        conversation_id=str(tweet["conversation_id"]) if tweet.get("conversation_id") else None,
        metrics=snapshots,
    )


def page_users(page: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    includes = page.get("includes")
    users = includes.get("users", []) if isinstance(includes, Mapping) else []
    return {str(u.get("id")): u for u in users if isinstance(u, Mapping)}


def normalize_page(
    page: Mapping[str, Any], fetched_at: datetime
) -> tuple[list[Post], list[RowError]]:
    """A v2 response page -> its posts; tweets that cannot be read become errors, not crashes.

    Retweets are skipped (their text is truncated and the original is what matters).
    """
    if not isinstance(page, Mapping):
        raise RecordError("page is not a JSON object")
    users = page_users(page)
    posts: list[Post] = []
    errors: list[RowError] = []
    data = page.get("data") or []
    if isinstance(data, Mapping):  # single-tweet lookups answer with an object
        data = [data]
    if not isinstance(data, list):
        raise RecordError("page 'data' is not a list")
    for index, tweet in enumerate(data, start=1):
        if isinstance(tweet, Mapping) and any(
            isinstance(r, Mapping) and r.get("type") == "retweeted"
            for r in tweet.get("referenced_tweets") or []
        ):
            continue
        try:
            posts.append(normalize_tweet(tweet, users, fetched_at))
        except RecordError as exc:
            errors.append(RowError(index, f"tweet #{index}: {exc}"))
    return posts, errors


def page_problems(page: Mapping[str, Any]) -> list[str]:
    """The `errors` array of a v2 page (deleted/protected posts), as short messages."""
    problems = []
    for error in page.get("errors") or []:
        if isinstance(error, Mapping):
            problems.append(
                f"{error.get('title') or error.get('type') or 'error'}: "
                f"{error.get('resource_id') or error.get('value') or ''}".strip()
            )
    return problems

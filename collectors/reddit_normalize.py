"""Pure normalisers for Reddit JSON listings (search, new, comments, /api/info).

A submission (`t3`) becomes a Post with text `title + "\\n\\n" + selftext`; a comment (`t1`)
becomes a Post whose `reply_to_id` is its parent and `conversation_id` its submission. Each
carries one snapshot: score and comment count (`replies`) for submissions, score for comments.
Removed or deleted bodies are not posts; "more comments" stubs are counted, not followed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from collectors.base import RowError
from triage.errors import RecordError
from triage.records import MetricSnapshot, Post

REDDIT_URL = "https://www.reddit.com"
GONE = frozenset({"[removed]", "[deleted]", "[ Removed by Reddit ]"})


@dataclass(frozen=True, slots=True)
class ListingStats:
    items: int  # submissions and comments in the payload (what the budget counts)
    more: int  # "load more comments" stubs not followed
    gone: int  # removed or deleted items skipped


def _time(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(float(value), timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        raise RecordError(f"created_utc: not a timestamp: {value!r}") from None


def _strip_kind(fullname: Any) -> str | None:
    if not fullname:
        return None
    text = str(fullname)
    return text.split("_", 1)[1] if text[:3] in ("t1_", "t3_") else text


def _author(data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    name = data.get("author")
    if not name or name == "[deleted]":
        return None, None
    return (str(data.get("author_fullname") or "") or None), str(name)


def _id(data: Mapping[str, Any]) -> str:
    post_id = str(data.get("id") or "")
    if not post_id.isalnum():
        raise RecordError(f"id missing or not base-36: {data.get('id')!r}")
    return post_id


def normalize_submission(data: Mapping[str, Any], fetched_at: datetime) -> Post:
    post_id = _id(data)
    title = str(data.get("title") or "").strip()
    body = str(data.get("selftext") or "").strip()
    text = title + ("\n\n" + body if body and body not in GONE else "")
    author_id, handle = _author(data)
    snapshot = MetricSnapshot.from_dict(
        {"at": fetched_at, "score": data.get("score"), "replies": data.get("num_comments")})
    return Post(
        platform="reddit",
        post_id=post_id,
        text=text,
        created_at=_time(data.get("created_utc")),
        url=REDDIT_URL + str(data["permalink"]) if data.get("permalink") else None,
        author_id=author_id,
        author_handle=handle,
        conversation_id=post_id,
        metrics=(snapshot,),
    )


def normalize_comment(data: Mapping[str, Any], fetched_at: datetime) -> Post:
    post_id = _id(data)
    author_id, handle = _author(data)
    return Post(
        platform="reddit",
        post_id=post_id,
        text=str(data.get("body") or ""),
        created_at=_time(data.get("created_utc")),
        url=REDDIT_URL + str(data["permalink"]) if data.get("permalink") else None,
        author_id=author_id,
        author_handle=handle,
        reply_to_id=_strip_kind(data.get("parent_id")),
        conversation_id=_strip_kind(data.get("link_id")),
        metrics=(MetricSnapshot.from_dict({"at": fetched_at, "score": data.get("score")}),),
    )


def _things(payload: Any) -> Iterator[Mapping[str, Any]]:
    """Every thing in a listing, a list of listings (comments page) or nested replies."""
    if isinstance(payload, list):
        for part in payload:
            yield from _things(part)
        return
    if not isinstance(payload, Mapping):
        return
    if payload.get("kind") == "Listing":
        data = payload.get("data")
        children = data.get("children") if isinstance(data, Mapping) else None
        for child in children if isinstance(children, list) else []:
            yield from _things(child)
        return
    yield payload
    data = payload.get("data")
    if isinstance(data, Mapping) and isinstance(data.get("replies"), Mapping):
        yield from _things(data["replies"])


def normalize_listing(payload: Any, fetched_at: datetime) -> tuple[list[Post], list[RowError], ListingStats]:
    """A listing payload -> posts; unreadable things become errors (numbered in order)."""
    if not isinstance(payload, (Mapping, list)):
        raise RecordError("not a Reddit listing")
    posts: list[Post] = []
    errors: list[RowError] = []
    items = more = gone = 0
    for number, thing in enumerate(_things(payload), start=1):
        kind, data = thing.get("kind"), thing.get("data")
        if kind == "more":
            more += int(data.get("count") or 0) if isinstance(data, Mapping) else 0
            continue
        if kind not in ("t1", "t3") or not isinstance(data, Mapping):
            continue
        items += 1
        if kind == "t1" and str(data.get("body") or "").strip() in GONE:
            gone += 1
            continue
        if kind == "t3" and str(data.get("removed_by_category") or "") in ("deleted", "moderator"):
            gone += 1
            continue
        try:
            posts.append((normalize_comment if kind == "t1" else normalize_submission)(data, fetched_at))
        except (RecordError, KeyError) as exc:
            errors.append(RowError(number, f"{kind} #{number}: {exc}"))
    return posts, errors, ListingStats(items, more, gone)


def listing_after(payload: Any) -> str | None:
    """The `after` cursor of a listing (None at its end)."""
    if isinstance(payload, Mapping) and isinstance(payload.get("data"), Mapping):
        after = payload["data"].get("after")
        return str(after) if after else None
    return None


def listing_children(payload: Any) -> list[Mapping[str, Any]]:
    """The `data` of each top-level child of a listing (submissions of a search or new page)."""
    if not (isinstance(payload, Mapping) and isinstance(payload.get("data"), Mapping)):
        return []
    children = payload["data"].get("children")
    return [c["data"] for c in children or []
            if isinstance(c, Mapping) and isinstance(c.get("data"), Mapping)]

"""Record types of the pure core: what collectors build, triage reads and pipelines store.

Stdlib only. Every record is a frozen dataclass with `to_dict` / `from_dict` so it can travel
as JSON (JSONL files, the queue contract) and round-trip exactly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from triage.errors import RecordError

PLATFORMS = ("x", "reddit", "file")


def parse_time(value: Any, *, field_name: str = "time") -> datetime:
    """Parse an ISO-8601 string (or datetime) into an aware UTC datetime."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str) and value:
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise RecordError(f"{field_name}: not an ISO-8601 time: {value!r}") from None
    else:
        raise RecordError(f"{field_name}: missing or not a time: {value!r}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def format_time(value: datetime) -> str:
    """UTC ISO-8601 with a trailing Z, second precision (the contract's format)."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _opt_int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordError(f"{name}: not a count: {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise RecordError(f"{name}: not a count: {value!r}") from None
    if number < 0:
        raise RecordError(f"{name}: negative count: {number}")
    return number


def _opt_score(value: Any) -> int | None:
    """Reddit scores may be negative, unlike counts."""
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise RecordError(f"score: not a number: {value!r}") from None


def _opt_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where and when a post came from, so every derived row can be traced to its raw page."""

    collector: str  # source name from the collector registry: "x", "reddit", "file"
    collector_version: str  # version of the collector code that fetched it
    query: str | None  # the search query or subreddit that matched; None for plain imports
    endpoint: str  # API endpoint or file path/format the page came from
    fetched_at: datetime  # when the page was fetched (UTC)
    raw_sha256: str  # SHA-256 of the raw page as received

    def to_dict(self) -> dict[str, Any]:
        return {
            "collector": self.collector,
            "collector_version": self.collector_version,
            "query": self.query,
            "endpoint": self.endpoint,
            "fetched_at": format_time(self.fetched_at),
            "raw_sha256": self.raw_sha256,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Provenance:
        return cls(
            collector=str(data["collector"]),
            collector_version=str(data["collector_version"]),
            query=_opt_str(data.get("query")),
            endpoint=str(data["endpoint"]),
            fetched_at=parse_time(data["fetched_at"], field_name="fetched_at"),
            raw_sha256=str(data["raw_sha256"]),
        )


@dataclass(frozen=True, slots=True)
class MetricSnapshot:
    """Engagement counts of one post at one moment; a post's history is a list of these."""

    at: datetime  # when the counts were read (UTC)
    reposts: int | None = None  # X retweets / reposts
    quotes: int | None = None  # X quote posts
    replies: int | None = None  # replies (X) or comments (Reddit)
    likes: int | None = None  # X likes / favourites
    views: int | None = None  # X impressions, when the API gives them
    score: int | None = None  # Reddit score (upvotes minus downvotes)

    @property
    def engagement(self) -> int:
        """reposts + quotes + replies + likes (Reddit: max(score, 0) + replies)."""
        total = sum(v or 0 for v in (self.reposts, self.quotes, self.replies, self.likes))
        return total + max(self.score or 0, 0)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"at": format_time(self.at)}
        for name in ("reposts", "quotes", "replies", "likes", "views", "score"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetricSnapshot:
        if not isinstance(data, dict):
            raise RecordError(f"snapshot: expected an object, got {type(data).__name__}")
        replies = data.get("replies", data.get("comments"))
        return cls(
            at=parse_time(data.get("at"), field_name="snapshot.at"),
            reposts=_opt_int(data.get("reposts"), "reposts"),
            quotes=_opt_int(data.get("quotes"), "quotes"),
            replies=_opt_int(replies, "replies"),
            likes=_opt_int(data.get("likes"), "likes"),
            views=_opt_int(data.get("views"), "views"),
            score=_opt_score(data.get("score")),
        )


@dataclass(frozen=True, slots=True)
class Post:
    """One public post as Pantau knows it, whatever platform it came from."""

    platform: str  # "x", "reddit" or "file" (imports whose platform is unknown)
    post_id: str  # the platform's id; unique per platform
    text: str  # the post's text as published (raw: may hold personal data)
    created_at: datetime  # when the author published it (UTC)
    url: str | None = None  # link to the original post
    author_id: str | None = None  # the platform's author id (personal data: pseudonymised on output)
    author_handle: str | None = None  # @handle without "@" (personal data unless an agency's)
    author_followers: int | None = None  # follower count when fetched
    lang: str | None = None  # language code as given by the platform ("id", "in", "en", ...)
    reply_to_id: str | None = None  # post id this replies to
    quote_of_id: str | None = None  # post id this quotes
    conversation_id: str | None = None  # root post id of the thread
    metrics: tuple[MetricSnapshot, ...] = field(default_factory=tuple)  # counts over time

    def __post_init__(self) -> None:
        if self.platform not in PLATFORMS:
            raise RecordError(f"platform: unknown {self.platform!r} (expected one of {PLATFORMS})")
        if not self.post_id:
            raise RecordError("post_id: missing")
        if not isinstance(self.text, str) or not self.text.strip():
            raise RecordError("text: missing or empty")

    @property
    def key(self) -> str:
        """The post's identity across Pantau: `platform:post_id` (the queue's idempotency key)."""
        return f"{self.platform}:{self.post_id}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "metrics":
                value = [m.to_dict() for m in value]
            elif isinstance(value, datetime):
                value = format_time(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Post:
        """Build a Post from our JSONL format; raises RecordError naming the bad field."""
        if not isinstance(data, dict):
            raise RecordError(f"expected a JSON object, got {type(data).__name__}")
        for name in ("platform", "post_id", "text", "created_at"):
            if data.get(name) in (None, ""):
                raise RecordError(f"{name}: missing")
        metrics = data.get("metrics") or []
        if not isinstance(metrics, list):
            raise RecordError("metrics: expected a list of snapshots")
        return cls(
            platform=str(data["platform"]),
            post_id=str(data["post_id"]),
            text=str(data["text"]),
            created_at=parse_time(data["created_at"], field_name="created_at"),
            url=_opt_str(data.get("url")),
            author_id=_opt_str(data.get("author_id")),
            author_handle=_opt_str(data.get("author_handle")),
            author_followers=_opt_int(data.get("author_followers"), "author_followers"),
            lang=_opt_str(data.get("lang")),
            reply_to_id=_opt_str(data.get("reply_to_id")),
            quote_of_id=_opt_str(data.get("quote_of_id")),
            conversation_id=_opt_str(data.get("conversation_id")),
            metrics=tuple(sorted((MetricSnapshot.from_dict(m) for m in metrics), key=lambda m: m.at)),
        )


@dataclass(frozen=True, slots=True)
class CollectedPost:
    """A post together with the provenance of the page it came from: a collector's output."""

    post: Post
    provenance: Provenance

"""The queue item of contract v1 (`pantau.queue-item/1`, DESIGN.md), built from triaged data (pure).

Everything that goes in is already redacted: the post's redacted text, the author's pseudonym,
evidence phrases taken from the redacted text. The JSON Schema lives in
pipelines/schemas/queue-item-1.schema.json and every item the tests see is validated against it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from triage.agencies import Agency
from triage.priority import Priority
from triage.records import format_time
from triage.virality import Virality

if TYPE_CHECKING:  # the classifier module pulls in scikit-learn; records only need the type
    from triage.classify import Labels

SCHEMA_ID = "pantau.queue-item/1"
PIPELINE_VERSION = "0.1.0"
REDACTION_POLICY = "v1"


def original_link(platform: str, post_id: str) -> str | None:
    """A link to the post that carries no handle (stored URLs may name the author)."""
    if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", post_id or ""):
        return None
    if platform == "x":
        return f"https://x.com/i/web/status/{post_id}"
    if platform == "reddit":
        return f"https://www.reddit.com/comments/{post_id.removeprefix('t3_')}/"
    return None


@dataclass(frozen=True, slots=True)
class PostView:
    """The redacted face of a stored post: all a queue item may show of it."""

    platform: str
    post_id: str
    url: str | None
    created_at: datetime
    lang: str | None
    redacted_text: str
    author_pseudonym: str
    author_followers: int | None
    redaction_counts: Mapping[str, int]

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.post_id}"


@dataclass(frozen=True, slots=True)
class ReviewView:
    """A person's decision on the case that consumers must follow (contract field `review`).

    Only the reason's code goes out: the free text a reviewer adds may name people."""

    decision: str  # "dismissed"
    reason: str  # a code of review.actions.DISMISS_REASONS
    at: datetime


@dataclass(frozen=True, slots=True)
class ProvenanceView:
    collector: str
    collector_version: str
    query: str | None
    fetched_at: datetime
    raw_sha256: str


def build_queue_item(
    *,
    item_id: str,
    idempotency_key: str,
    revision: int,
    enqueued_at: datetime,
    post: PostView,
    labels: Labels,
    agency: Agency | None,
    virality: Virality,
    priority: Priority,
    case_key: str | None,
    provenance: ProvenanceView,
    models: Mapping[str, str],
    review: ReviewView | None = None,
) -> dict[str, Any]:
    """One queue item as a JSON-ready dict (`review` only on a revision that carries a decision)."""
    substance = labels.substance
    mal = labels.maladministration
    item = {
        "schema": SCHEMA_ID,
        "item_id": item_id,
        "idempotency_key": idempotency_key,
        "revision": revision,
        "enqueued_at": format_time(enqueued_at),
        "post": {
            "platform": post.platform,
            "post_id": post.post_id,
            "url": post.url,
            "created_at": format_time(post.created_at),
            "lang": post.lang,
            "text": post.redacted_text,
            "author": {"pseudonym": post.author_pseudonym, "followers": post.author_followers},
        },
        "triage": {
            "kind": {"label": labels.kind.label, "score": round(labels.kind.score, 4)},
            "substance": {
                "label": substance.label,
                "score": round(substance.score, 4),
                "alternatives": [[lab, round(p, 4)] for lab, p in substance.alternatives],
            },
            "maladministration": {
                "label": mal.label,
                "score": round(mal.score, 4),
                "evidence": list(mal.evidence or labels.kind.evidence),
            },
            "agency": (
                {"id": agency.id, "name": agency.name, "region": agency.region or None}
                if agency
                else None
            ),
            "virality": {
                "score": round(virality.score, 1),
                "engagement_per_hour": round(virality.engagement_per_hour, 2),
                "baseline_ratio": round(virality.baseline_ratio, 2),
            },
            "priority": {
                "score": round(priority.score, 3),
                "tier": priority.tier,
                "reasons": list(priority.reasons),
            },
            "case_id": case_key,
        },
        "provenance": {
            "collector": provenance.collector,
            "collector_version": provenance.collector_version,
            "query": provenance.query,
            "fetched_at": format_time(provenance.fetched_at),
            "raw_sha256": provenance.raw_sha256,
            "models": dict(models),
            "pipeline_version": PIPELINE_VERSION,
        },
        "redaction": {"policy": REDACTION_POLICY, "entities": dict(post.redaction_counts)},
    }
    if review is not None:
        item["review"] = {"decision": review.decision, "reason": review.reason, "at": format_time(review.at)}
    return item

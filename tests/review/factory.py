"""Rows for the review tests: triaged posts written straight into a real database.

The page tests need exact, hand-chosen triage results (labels, scores, tiers, ages), so they
write them directly instead of running the classifier; the browser test runs the real pipeline.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Engine, insert

from pipelines.store import schema as s
from pipelines.users import create_user

_ids = itertools.count(1_000_000)

PASSWORD = "kata-sandi-uji-123"
# Cheap argon2id parameters for tests only (the app under test is mounted with the same hasher).
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def label(name: str, score: float, evidence: tuple[str, ...] = (), alternatives: tuple = ()) -> dict:
    return {"label": name, "score": score, "alternatives": [list(a) for a in alternatives],
            "evidence": list(evidence)}


def add_post(
    engine: Engine, *, text: str, now: datetime, raw_text: str | None = None,
    kind: str = "aduan", substance: str = "listrik", maladministration: str = "tidak_kompeten",
    scores: tuple[float, float, float] = (0.9, 0.8, 0.7), evidence: tuple[str, ...] = (),
    agency_id: str | None = "pln", priority: float = 0.5, tier: str = "P2", virality: float = 20.0,
    age: timedelta = timedelta(hours=5), platform: str = "x", case_id: int | None = None,
    engagement: tuple[int, ...] = (1, 4, 9), handle: str = "warga_biasa",
    qualified: bool = False,
) -> int:
    """One triaged post (with raw page, case, snapshots); returns its primary key."""
    number = next(_ids)
    post_id = str(number)
    created = now - age
    with engine.begin() as conn:
        page_id = conn.execute(insert(s.raw_pages).values(
            collector="file", collector_version="0.1.0", query="uji", endpoint="file:uji.jsonl",
            fetched_at=created + timedelta(minutes=5),
            sha256=hashlib.sha256(post_id.encode()).hexdigest(), body="{}")).inserted_primary_key[0]
        pk = conn.execute(insert(s.posts).values(
            platform=platform, post_id=post_id, url=f"https://x.com/{handle}/status/{post_id}",
            author_id=f"a{number}", author_handle=handle, author_pseudonym=f"a:{number:08x}",
            author_followers=120, text=raw_text if raw_text is not None else text,
            redacted_text=text, redaction_counts={}, lang="id", created_at=created,
            raw_page_id=page_id, collector="file", collector_version="0.1.0", query="uji",
            endpoint="file:uji.jsonl", fetched_at=created + timedelta(minutes=5),
            raw_sha256=hashlib.sha256(post_id.encode()).hexdigest(), inserted_at=created,
            triage_state="done")).inserted_primary_key[0]
        if case_id is None:
            case_id = conn.execute(insert(s.cases).values(
                signature=hashlib.sha256(f"case{number}".encode()).hexdigest()[:32],
                agency_id=agency_id, first_seen=created, last_seen=created, size=1,
                engagement=engagement[-1] if engagement else 0, tier=None,
                lead_post_pk=pk)).inserted_primary_key[0]
        else:
            conn.execute(s.cases.update().where(s.cases.c.id == case_id)
                         .values(size=s.cases.c.size + 1))
        conn.execute(s.posts.update().where(s.posts.c.id == pk).values(case_id=case_id))
        for i, value in enumerate(engagement):
            conn.execute(insert(s.metric_snapshots).values(
                post_pk=pk, at=created + timedelta(hours=i + 1), likes=value, reposts=0, quotes=0,
                replies=0, views=value * 20))
        k, sub, mal = scores
        conn.execute(insert(s.triage_results).values(
            post_pk=pk, triaged_at=now, kind=kind, kind_score=k, substance=substance,
            substance_score=sub, maladministration=maladministration, maladministration_score=mal,
            labels={"kind": label(kind, k), "substance": label(substance, sub, (), (("energi", 0.1),)),
                    "maladministration": label(maladministration, mal, evidence)},
            agency_id=agency_id, region=None, virality_score=virality, engagement_per_hour=1.5,
            virality={"score": virality, "engagement": engagement[-1] if engagement else 0,
                      "engagement_per_hour": 1.5, "acceleration": 0.0, "baseline_ratio": 0.7,
                      "forecast_24h": None, "components": {}},
            priority_score=priority, tier=tier, reasons=["aduan biasa"],
            models={"kind": "kind/uji"}, qualified=qualified))
    return int(pk)


def add_user(engine: Engine, name: str, role: str, now: datetime) -> Any:
    return create_user(engine, name, role, PASSWORD, now=now, hasher=FAST_HASHER)

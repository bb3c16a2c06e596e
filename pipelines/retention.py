"""Retention: raw text and raw pages live only `retention_days`; redacted derived data stays.

Run by the scheduler daily and by `pantau purge`. Posts deleted at the source are purged on
request (`purge_post`): their raw text and the raw page that brought them are emptied.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, select, update

from pipelines.context import AppContext
from pipelines.store import schema as s
from triage.errors import PantauError

log = logging.getLogger(__name__)


class RetentionError(PantauError):
    """A purge request cannot be carried out."""


@dataclass(frozen=True)
class PurgeReport:
    posts: int
    raw_pages: int


def purge_expired(engine: Engine, *, now: datetime, retention_days: int) -> PurgeReport:
    """Empty raw text and raw page bodies fetched before now - retention_days."""
    if retention_days < 1:
        raise RetentionError("retention_days must be at least 1")
    cutoff = now - timedelta(days=retention_days)
    p, r = s.posts, s.raw_pages
    with engine.begin() as conn:
        posts = conn.execute(update(p).where(and_(p.c.fetched_at < cutoff, p.c.text.is_not(None)))
                             .values(text=None, author_handle=None, author_id=None,
                                     text_purged_at=now)).rowcount
        pages = conn.execute(update(r).where(and_(r.c.fetched_at < cutoff, r.c.body.is_not(None)))
                             .values(body=None, purged_at=now)).rowcount
    log.info("retention purge", extra={"stage": "retention", "posts": posts, "raw_pages": pages})
    return PurgeReport(int(posts or 0), int(pages or 0))


def purge_post(engine: Engine, key: str, *, now: datetime) -> PurgeReport:
    """Purge one post deleted at its source ("platform:post_id") and the raw page it came from."""
    platform, _, post_id = key.partition(":")
    if not platform or not post_id:
        raise RetentionError(f"expected platform:post_id, got {key!r}")
    p, r = s.posts, s.raw_pages
    with engine.begin() as conn:
        row = conn.execute(select(p.c.id, p.c.raw_page_id).where(
            p.c.platform == platform, p.c.post_id == post_id)).first()
        if row is None:
            raise RetentionError(f"no post {key}")
        conn.execute(update(p).where(p.c.id == row.id).values(
            text=None, author_handle=None, author_id=None, text_purged_at=now))
        pages = conn.execute(update(r).where(r.c.id == row.raw_page_id, r.c.body.is_not(None))
                             .values(body=None, purged_at=now)).rowcount
    return PurgeReport(1, int(pages or 0))


def purge(ctx: AppContext) -> PurgeReport:
    """The scheduled job: purge everything past the configured retention."""
    return purge_expired(ctx.engine, now=ctx.clock(), retention_days=ctx.settings.retention_days)

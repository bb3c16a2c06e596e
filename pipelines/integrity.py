"""Integrity checks of the store, used by the fault drills and available to operators:
every post triaged once, every qualified case queued, no queue item duplicated."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from pipelines.store import schema as s


@dataclass(frozen=True)
class Integrity:
    posts: int
    pending: int  # posts not triaged yet
    triaged_without_result: int  # marked done but no triage result
    results_without_done: int  # a triage result but the post still pending
    qualified_cases_without_item: int  # lost queue items
    duplicate_items: int  # more than one item per (idempotency key, revision) or per case revision

    @property
    def ok(self) -> bool:
        return not (self.pending or self.triaged_without_result or self.results_without_done
                    or self.qualified_cases_without_item or self.duplicate_items)


def check_integrity(engine: Engine) -> Integrity:
    p, tr, q = s.posts, s.triage_results, s.queue_items
    with engine.connect() as conn:
        posts = conn.execute(select(func.count()).select_from(p)).scalar_one()
        pending = conn.execute(select(func.count()).where(p.c.triage_state == "pending")).scalar_one()
        done_no_result = conn.execute(select(func.count()).select_from(
            p.outerjoin(tr, tr.c.post_pk == p.c.id)).where(
            p.c.triage_state == "done", tr.c.post_pk.is_(None))).scalar_one()
        result_not_done = conn.execute(select(func.count()).select_from(
            p.join(tr, tr.c.post_pk == p.c.id)).where(p.c.triage_state != "done")).scalar_one()
        qualified_cases = select(p.c.case_id).join(tr, tr.c.post_pk == p.c.id).where(
            tr.c.qualified.is_(True)).distinct().subquery()
        lost = conn.execute(select(func.count()).select_from(qualified_cases).where(
            ~select(q.c.id).where(q.c.case_id == qualified_cases.c.case_id).exists())).scalar_one()
        per_revision = select(q.c.case_id, q.c.revision, func.count().label("n")).group_by(
            q.c.case_id, q.c.revision).subquery()
        duplicates = conn.execute(select(func.count()).select_from(per_revision)
                                  .where(per_revision.c.n > 1)).scalar_one()
    return Integrity(posts, pending, done_no_result, result_not_done, lost, duplicates)

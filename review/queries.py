"""SQL for the inbox and the detail page (SQLAlchemy Core; SQLite and PostgreSQL alike).

The inbox walks triage results in priority order with keyset pagination on
(priority_score, post_pk); each filter on a triage column has a (column, priority_score) index
(migration 0003), so a page costs the same on page 1 and page 1,000. An item's status is derived
from the people's decisions (reviews) and its case's queue items, never stored twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, exists, func, literal, or_, select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from pipelines.store import schema as s
from triage.records import MetricSnapshot

from .render import WIB

p, tr, c, r, q, u = s.posts, s.triage_results, s.cases, s.reviews, s.queue_items, s.users

STATUSES = {
    "baru": "Baru",
    "ditinjau": "Ditinjau",
    "diteruskan": "Diteruskan",
    "ditangani": "Ditangani",
    "ditolak": "Ditolak",
}
PAGE_SIZE = 50
COUNT_CAP = 10_000  # counting further costs a scan; the page says "lebih dari 10.000"


@dataclass(frozen=True)
class InboxFilter:
    agency: str | None = None  # an agency id, or "-" for posts with no agency
    substance: str | None = None
    maladministration: str | None = None
    kind: str | None = None
    tier: str | None = None
    status: str | None = None
    platform: str | None = None
    since: date | None = None  # WIB calendar days, inclusive
    until: date | None = None
    text: str | None = None


@dataclass(frozen=True)
class Cursor:
    score: float
    pk: int

    def token(self) -> str:
        return f"{self.score!r}_{self.pk}"

    @classmethod
    def parse(cls, token: str | None) -> Cursor | None:
        if not token:
            return None
        try:
            score, pk = token.split("_", 1)
            return cls(float(score), int(pk))
        except ValueError:
            return None


@dataclass
class InboxPage:
    rows: list[dict[str, Any]]
    total: int
    next: Cursor | None = None
    previous: Cursor | None = None
    capped: bool = False  # more than COUNT_CAP match
    sparklines: dict[int, list[int]] = field(default_factory=dict)


def status_expression() -> ColumnElement[str]:
    """baru / ditinjau / diteruskan / ditangani / ditolak for the post row `p`."""
    decision = (select(r.c.action).where(r.c.post_pk == p.c.id, r.c.action.in_(("escalate", "dismiss")))
                .order_by(r.c.at.desc(), r.c.id.desc()).limit(1).scalar_subquery())
    # a revision that carries a dismissal is the queue being told to close the case, not a
    # forwarded complaint: it makes no post "diteruskan" or "ditangani"
    acked = exists().where(q.c.case_id == p.c.case_id, q.c.status == "acked", q.c.decision.is_(None))
    queued = exists().where(q.c.case_id == p.c.case_id, q.c.status != "superseded", q.c.decision.is_(None))
    reviewed = exists().where(r.c.post_pk == p.c.id)
    return case(
        (decision == "dismiss", "ditolak"),
        (acked, "ditangani"),
        (queued, "diteruskan"),
        (decision == "escalate", "diteruskan"),
        (reviewed, "ditinjau"),
        else_="baru",
    )


def status_condition(value: str, status: ColumnElement[str]) -> Any:
    """`status == value`, led by a necessary condition the database can check from an index
    (IN a small set of reviewed or queued posts) before it evaluates the CASE."""
    reviewed = select(r.c.post_pk)
    queued = select(q.c.case_id).where(q.c.status != "superseded", q.c.case_id.is_not(None),
                                       q.c.decision.is_(None))
    if value == "baru":  # the exact condition, without the CASE
        return and_(tr.c.post_pk.not_in(reviewed), or_(p.c.case_id.is_(None), p.c.case_id.not_in(queued)))
    first = {
        "ditinjau": tr.c.post_pk.in_(reviewed),
        "ditolak": tr.c.post_pk.in_(select(r.c.post_pk).where(r.c.action == "dismiss")),
        "ditangani": p.c.case_id.in_(select(q.c.case_id).where(q.c.status == "acked",
                                                               q.c.decision.is_(None))),
        "diteruskan": or_(p.c.case_id.in_(queued),
                          tr.c.post_pk.in_(select(r.c.post_pk).where(r.c.action == "escalate"))),
    }[value]
    return and_(first, status == value)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=WIB)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _needs_posts(f: InboxFilter) -> bool:
    return bool(f.platform or f.since or f.until or f.text or f.status)


def _conditions(f: InboxFilter, status: ColumnElement[str], dialect: str = "sqlite") -> list[Any]:
    conds: list[Any] = []
    if f.agency == "-":
        conds.append(tr.c.agency_id.is_(None))
    elif f.agency:
        conds.append(tr.c.agency_id == f.agency)
    for column, value in ((tr.c.substance, f.substance), (tr.c.maladministration, f.maladministration),
                          (tr.c.kind, f.kind), (tr.c.tier, f.tier), (p.c.platform, f.platform)):
        if value:
            conds.append(column == value)
    if f.since:
        conds.append(p.c.created_at >= day_start(f.since))
    if f.until:
        conds.append(p.c.created_at < day_start(f.until + timedelta(days=1)))
    if f.text:  # SQLite's LIKE ignores ASCII case already; lower() would only cost time
        pattern = _like_pattern(f.text)
        conds.append(p.c.redacted_text.like(pattern, escape="\\") if dialect == "sqlite"
                     else p.c.redacted_text.ilike(pattern, escape="\\"))
    if f.status:
        conds.append(status_condition(f.status, status))
    return conds


def inbox_page(conn: Connection, f: InboxFilter, *, after: Cursor | None = None,
               before: Cursor | None = None, limit: int = PAGE_SIZE) -> InboxPage:
    """One page of the inbox: first the keys of the page (an index walk in priority order, posts
    joined only when a filter needs them), then the rows of those keys only (a deferred join, so
    the status and case of non-shown posts are never computed)."""
    status = status_expression()
    conds = _conditions(f, status, conn.dialect.name)
    source = tr.join(p, p.c.id == tr.c.post_pk) if _needs_posts(f) else tr
    key = tuple_(tr.c.priority_score, tr.c.post_pk)
    query = select(tr.c.post_pk, tr.c.priority_score).select_from(source).where(*conds)
    if before is not None:
        query = query.where(key > tuple_(before.score, before.pk)).order_by(
            tr.c.priority_score.asc(), tr.c.post_pk.asc())
    else:
        if after is not None:
            query = query.where(key < tuple_(after.score, after.pk))
        query = query.order_by(tr.c.priority_score.desc(), tr.c.post_pk.desc())
    keys = conn.execute(query.limit(limit + 1)).all()
    more = len(keys) > limit
    keys = keys[:limit]
    if before is not None:
        keys.reverse()
    if after is None and before is None and not more:
        total = len(keys)  # the first page holds them all: nothing left to count
    else:  # counted up to COUNT_CAP
        matching = select(literal(1)).select_from(source).where(*conds).limit(COUNT_CAP + 1).subquery()
        total = conn.execute(select(func.count()).select_from(matching)).scalar_one()
    pks = [k.post_pk for k in keys]
    details = {row.post_pk: dict(row._mapping) for row in conn.execute(
        select(tr.c.post_pk, tr.c.priority_score, tr.c.tier, tr.c.kind, tr.c.kind_score,
               tr.c.substance, tr.c.substance_score, tr.c.maladministration,
               tr.c.maladministration_score, tr.c.agency_id, tr.c.virality_score, tr.c.reasons,
               p.c.platform, p.c.redacted_text, p.c.created_at, p.c.case_id,
               c.c.size.label("case_size"), status.label("status"))
        .select_from(tr.join(p, p.c.id == tr.c.post_pk).outerjoin(c, c.c.id == p.c.case_id))
        .where(tr.c.post_pk.in_(pks)))} if pks else {}
    rows = [details[pk] for pk in pks if pk in details]
    page = InboxPage(rows, min(int(total), COUNT_CAP), capped=total > COUNT_CAP)
    if keys:
        first, last = keys[0], keys[-1]
        if (more if before is None else True):
            page.next = Cursor(last.priority_score, last.post_pk)
        if ((after is not None) if before is None else more):
            page.previous = Cursor(first.priority_score, first.post_pk)
    page.sparklines = engagement_series(conn, pks)
    corrections = human_labels(conn, pks)
    for row in rows:
        row["human"] = corrections.get(row["post_pk"], {})
    return page


def engagement_series(conn: Connection, post_pks: list[int]) -> dict[int, list[int]]:
    """Engagement (reposts + quotes + replies + likes, Reddit score) per snapshot, oldest first."""
    m = s.metric_snapshots
    out: dict[int, list[int]] = defaultdict(list)
    if not post_pks:
        return out
    for row in conn.execute(select(m).where(m.c.post_pk.in_(post_pks)).order_by(m.c.post_pk, m.c.at)):
        out[row.post_pk].append(MetricSnapshot(row.at, row.reposts, row.quotes, row.replies,
                                               row.likes, row.views, row.score).engagement)
    return out


def human_labels(conn: Connection, post_pks: list[int]) -> dict[int, dict[str, str]]:
    """The latest human label per post and field (confirmations included)."""
    out: dict[int, dict[str, str]] = defaultdict(dict)
    if not post_pks:
        return out
    for row in conn.execute(select(r.c.post_pk, r.c.field, r.c.value)
                            .where(r.c.post_pk.in_(post_pks), r.c.action == "label")
                            .order_by(r.c.at, r.c.id)):
        out[row.post_pk][row.field] = row.value
    return out


def platforms(conn: Connection) -> list[str]:
    return [v for v in conn.execute(select(p.c.platform).distinct().order_by(p.c.platform)).scalars()]


# --- the detail page ---------------------------------------------------------------------------
def post_detail(conn: Connection, post_pk: int) -> dict[str, Any] | None:
    """One triaged post with its triage result, case and status; None when there is none."""
    row = conn.execute(
        select(p.c.id, p.c.platform, p.c.post_id, p.c.url, p.c.author_pseudonym,
               p.c.author_followers, p.c.redacted_text, p.c.redaction_counts, p.c.lang,
               p.c.created_at, p.c.collector, p.c.collector_version, p.c.query, p.c.endpoint,
               p.c.fetched_at, p.c.raw_sha256, p.c.case_id,
               (p.c.text.is_not(None)).label("has_raw"),
               tr.c.triaged_at, tr.c.kind, tr.c.substance, tr.c.maladministration, tr.c.labels,
               tr.c.agency_id, tr.c.region, tr.c.virality_score, tr.c.engagement_per_hour,
               tr.c.virality, tr.c.priority_score, tr.c.tier, tr.c.reasons, tr.c.models,
               tr.c.qualified, c.c.size.label("case_size"), c.c.lead_post_pk,
               c.c.first_seen.label("case_first_seen"), c.c.last_seen.label("case_last_seen"),
               status_expression().label("status"))
        .select_from(tr.join(p, p.c.id == tr.c.post_pk).outerjoin(c, c.c.id == p.c.case_id))
        .where(tr.c.post_pk == post_pk)
    ).first()
    return dict(row._mapping) if row else None


def raw_text(conn: Connection, post_pk: int) -> tuple[str | None, str | None, str | None]:
    """(raw text, author handle, stored URL): for roles with `lihat_teks_asli` only."""
    row = conn.execute(select(p.c.text, p.c.author_handle, p.c.url).where(p.c.id == post_pk)).first()
    return (row.text, row.author_handle, row.url) if row else (None, None, None)


def snapshots(conn: Connection, post_pk: int) -> list[MetricSnapshot]:
    m = s.metric_snapshots
    return [MetricSnapshot(row.at, row.reposts, row.quotes, row.replies, row.likes, row.views, row.score)
            for row in conn.execute(select(m).where(m.c.post_pk == post_pk).order_by(m.c.at))]


def case_posts(conn: Connection, case_id: int | None, exclude: int, limit: int = 20) -> list[dict[str, Any]]:
    if case_id is None:
        return []
    query = (select(p.c.id, p.c.platform, p.c.redacted_text, p.c.created_at, tr.c.tier,
                    tr.c.priority_score)
             .select_from(p.outerjoin(tr, tr.c.post_pk == p.c.id))
             .where(p.c.case_id == case_id, p.c.id != exclude)
             .order_by(p.c.created_at, p.c.id).limit(limit))
    return [dict(row._mapping) for row in conn.execute(query)]


def review_history(conn: Connection, post_pk: int) -> list[dict[str, Any]]:
    query = (select(r.c.at, r.c.action, r.c.field, r.c.value, u.c.name.label("user"))
             .select_from(r.join(u, u.c.id == r.c.user_id))
             .where(r.c.post_pk == post_pk).order_by(r.c.at.desc(), r.c.id.desc()).limit(100))
    return [dict(row._mapping) for row in conn.execute(query)]


def queue_items_of(conn: Connection, case_id: int | None, post_pk: int) -> list[dict[str, Any]]:
    where = q.c.case_id == case_id if case_id is not None else q.c.post_pk == post_pk
    query = (select(q.c.item_id, q.c.idempotency_key, q.c.revision, q.c.status, q.c.tier,
                    q.c.enqueued_at, q.c.acked_at, q.c.decision).where(where).order_by(q.c.revision))
    return [dict(row._mapping) for row in conn.execute(query)]


def active_users(conn: Connection) -> list[str]:
    return list(conn.execute(select(u.c.name).where(u.c.disabled.is_(False)).order_by(u.c.name)).scalars())



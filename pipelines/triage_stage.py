"""The triage stage: claim untriaged posts, run the pure triage core, write results and queue items.

A worker claims a batch of pending posts with a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so
several workers share the work), triages the batch in memory (no database round trip per post),
then writes the triage results, the cases and the qualifying queue items in ONE transaction:
the queue is an outbox of the triage result, so an item is never lost between the two, and a
post whose lease was taken over is never written twice.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, false, func, or_, select, update

from pipelines.queue import enqueue_many
from pipelines.store import schema as s
from pipelines.store.sql import StatisticsRefresher, insert_ignore, insert_ignore_count
from triage.agencies import Registry
from triage.classify import Classifier, Labels
from triage.contract import PostView, ProvenanceView, build_queue_item, original_link
from triage.dedupe import CaseIndex, extract_urls
from triage.forecast import Forecaster
from triage.priority import DEFAULT_SEVERITY, Priority, prioritize, tier_rank
from triage.qualify import Policies, qualifies
from triage.records import MetricSnapshot
from triage.sector import with_agency_sector
from triage.virality import Virality, baseline_from_history, score_virality

log = logging.getLogger(__name__)

BASELINE_DAYS = 7
# Complaints about one incident keep coming for days (a report, then "sudah 4 hari belum ada
# tanggapan"): a week-long grouping window keeps them in one case.
CASE_WINDOW = timedelta(days=7)
# A killed worker's leases are taken over this soon on its host (elsewhere they expire by time).
DEAD_OWNER_CHECK_SECONDS = 30.0


@dataclass
class StageReport:
    claimed: int = 0
    triaged: int = 0
    qualified: int = 0
    enqueued: int = 0
    cases_new: int = 0
    seconds: float = 0.0
    by_kind: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: StageReport) -> None:
        self.claimed += other.claimed
        self.triaged += other.triaged
        self.qualified += other.qualified
        self.enqueued += other.enqueued
        self.cases_new += other.cases_new
        self.seconds += other.seconds
        for k, v in other.by_kind.items():
            self.by_kind[k] += v


@dataclass(frozen=True)
class _Triaged:
    row: Any
    labels: Labels
    agency_id: str | None
    virality: Virality
    priority: Priority
    qualified: bool
    signature: str
    result: dict[str, Any]  # its triage_results row, built before the write transaction


_POST_COLUMNS = (
    s.posts.c.id, s.posts.c.platform, s.posts.c.post_id, s.posts.c.url, s.posts.c.created_at,
    s.posts.c.lang, s.posts.c.redacted_text, s.posts.c.author_pseudonym,
    s.posts.c.author_followers, s.posts.c.author_handle, s.posts.c.redaction_counts,
    s.posts.c.collector, s.posts.c.collector_version, s.posts.c.query, s.posts.c.fetched_at,
    s.posts.c.raw_sha256, s.posts.c.reply_to_id, s.posts.c.quote_of_id, s.posts.c.conversation_id,
)


def _local_process_gone(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's worker: its lease expires by time
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class TriageStage:
    """One worker's view of the triage stage. The classifier is loaded once by the caller."""

    def __init__(
        self,
        engine: Engine,
        classifier: Classifier,
        registry: Registry,
        policies: Policies,
        *,
        clock: Callable[[], datetime],
        severity: dict[str, float] | None = None,
        batch_size: int = 500,
        lease_seconds: int = 600,
        forecaster: Forecaster | None = None,
    ) -> None:
        self.engine = engine
        self.classifier = classifier
        self.registry = registry
        self.policies = policies
        self.clock = clock
        self.severity = severity or DEFAULT_SEVERITY
        self.forecaster = forecaster  # None: the power-law fallback of triage.virality
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        # Incident grouping lives in memory per worker, rebuilt from the store on the first batch.
        self.cases = CaseIndex(window=CASE_WINDOW, on_merge=self._merged)
        self._cases_loaded = False
        self._synced_from = 0  # posts with a lower id were all done at the last sync
        self._statistics = StatisticsRefresher(engine, (s.posts, s.cases, s.triage_results, s.queue_items))
        self._merges: list[tuple[str, str]] = []
        self._owners_checked_at = float("-inf")  # time.monotonic() of the last dead-owner lookup
        # Posts of a failed batch whose leases could not be given back (the database was down):
        # still leased to this worker, which takes them again at its next claim.
        self._unreleased: set[int] = set()
        self._baselines: dict[str | None, float] = {}
        self._baselines_at: datetime | None = None

    # --- claiming -------------------------------------------------------------------------
    def _dead_local_owners(self, conn: Connection) -> list[str]:
        """Lease owners on this host whose process is gone: their leases need not expire.

        Looked for at the first claim and then every DEAD_OWNER_CHECK_SECONDS: the lookup
        reads every pending post (14 ms per claim with a 77k backlog, 2.5% of a worker)."""
        clock = time.monotonic()
        if clock - self._owners_checked_at < DEAD_OWNER_CHECK_SECONDS:
            return []
        self._owners_checked_at = clock
        p = s.posts
        owners = conn.execute(select(p.c.triage_lease_owner).distinct().where(
            p.c.triage_state == "pending", p.c.triage_lease_owner.is_not(None))).scalars().all()
        return [o for o in owners if o != self.owner and _local_process_gone(o)]

    def claim(self, now: datetime) -> list[Any]:
        p = s.posts
        until = now + timedelta(seconds=self.lease_seconds)
        with self.engine.begin() as conn:
            ours = (and_(p.c.triage_lease_owner == self.owner, p.c.id.in_(sorted(self._unreleased)))
                    if self._unreleased else false())
            claimable = and_(p.c.triage_state == "pending", or_(
                p.c.triage_lease_until.is_(None), p.c.triage_lease_until < now,
                p.c.triage_lease_owner.in_(self._dead_local_owners(conn)), ours))
            # One UPDATE ... RETURNING: the rows are picked and leased in the same statement, so
            # two workers never lease the same post (PostgreSQL skips rows another worker has
            # locked; SQLite runs the statement under its single write lock).
            picked = select(p.c.id).where(claimable).order_by(p.c.id).limit(self.batch_size)
            if conn.dialect.name == "postgresql":
                picked = picked.with_for_update(skip_locked=True)
            ids = conn.execute(update(p).where(p.c.id.in_(picked.scalar_subquery()))
                               .values(triage_lease_until=until, triage_lease_owner=self.owner)
                               .returning(p.c.id)).scalars().all()
        # Taken again now, or no longer ours to take (done, or taken over after expiry).
        self._unreleased = self._unreleased.difference(ids) if ids else set()
        if not ids:
            return []
        # The posts are read after the commit: SQLite's write lock is not held while 500 texts
        # are fetched and converted (the lease keeps them ours).
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_POST_COLUMNS).where(p.c.id.in_(ids))).all()
        return sorted(rows, key=lambda r: r.id)

    # --- computing (pure core, no I/O) ------------------------------------------------------
    def _triage(self, rows: Sequence[Any], snapshots: dict[int, list[MetricSnapshot]],
                now: datetime) -> list[_Triaged]:
        labels = self.classifier.predict([r.redacted_text for r in rows])
        out = []
        for row, lab in zip(rows, labels, strict=True):
            match = self.registry.resolve(row.redacted_text, author_handle=row.author_handle,
                                          query=row.query)
            lab = with_agency_sector(lab, match)  # noqa: PLW2901 - the sector of the named agency
            agency = match.agency if match else None
            agency_id = agency.id if agency else None
            virality = score_virality(
                row.created_at, snapshots.get(row.id, []), followers=row.author_followers,
                baseline_eph=self._baselines.get(agency_id, self._baselines.get(None)), now=now,
                forecaster=self.forecaster,
            )
            priority = prioritize(lab, virality, created_at=row.created_at, now=now,
                                  agency_name=agency.name if agency else None, severity=self.severity)
            policy = self.policies.for_post(agency_id, lab.substance.label)
            case_key = self.cases.assign(
                f"{row.platform}:{row.post_id}", row.redacted_text, row.created_at,
                row.quote_of_id, row.reply_to_id, extract_urls(row.redacted_text),
                conversation_id=row.conversation_id)
            qualified = qualifies(lab, priority, virality, policy)
            out.append(_Triaged(row, lab, agency_id, virality, priority, qualified, case_key,
                                self._result_row(row.id, lab, agency_id, virality, priority,
                                                 qualified, now)))
        return out

    def _result_row(self, post_pk: int, labels: Labels, agency_id: str | None,
                    virality: Virality, priority: Priority, qualified: bool,
                    now: datetime) -> dict[str, Any]:
        return {
            "post_pk": post_pk, "triaged_at": now,
            "kind": labels.kind.label, "kind_score": labels.kind.score,
            "substance": labels.substance.label, "substance_score": labels.substance.score,
            "maladministration": labels.maladministration.label,
            "maladministration_score": labels.maladministration.score,
            "labels": labels.to_dict(), "agency_id": agency_id,
            "region": (self.registry.by_id[agency_id].region or None) if agency_id else None,
            "virality_score": virality.score,
            "engagement_per_hour": virality.engagement_per_hour,
            "virality": virality.to_dict(), "priority_score": priority.score,
            "tier": priority.tier, "reasons": list(priority.reasons),
            "models": self.classifier.versions, "qualified": qualified,
        }

    # --- writing (one transaction) ----------------------------------------------------------
    def _write(self, conn: Connection, results: list[_Triaged], now: datetime,
               report: StageReport) -> None:
        p = s.posts
        ids = [t.row.id for t in results]
        # Posts another worker finished while our lease had expired are skipped, not redone.
        still_pending = set(conn.execute(select(p.c.id).where(p.c.id.in_(ids),
                                                             p.c.triage_state == "pending")).scalars())
        results = [t for t in results if t.row.id in still_pending]
        if not results:
            return
        case_ids = self._cases(conn, results, now, report)
        self._apply_merges(conn, case_ids)
        # The rows were built before the transaction: SQLite's single write lock, taken at the
        # first write above, is held for as short a time as possible.
        conn.execute(insert_ignore(conn, s.triage_results, ["post_pk"]), [t.result for t in results])
        # One executemany for the whole batch: a single round trip, not one per post.
        conn.execute(
            update(p).where(p.c.id == bindparam("b_id")).values(
                triage_state="done", triage_lease_until=None, triage_lease_owner=None,
                case_id=bindparam("b_case")),
            [{"b_id": t.row.id, "b_case": case_ids[t.signature]} for t in results],
        )
        self._enqueue(conn, results, case_ids, now, report)
        report.triaged += len(results)
        for t in results:
            report.by_kind[t.labels.kind.label] += 1

    def _cases(self, conn: Connection, results: list[_Triaged], now: datetime,
               report: StageReport) -> dict[str, int]:
        c = s.cases
        signatures = {t.signature for t in results}
        existing = {sig: cid for sig, cid in conn.execute(
            select(c.c.signature, c.c.id).where(c.c.signature.in_(signatures)))}
        new_rows = {}
        for t in results:
            if t.signature not in existing and t.signature not in new_rows:
                new_rows[t.signature] = {
                    "signature": t.signature, "agency_id": t.agency_id,
                    "first_seen": t.row.created_at, "last_seen": t.row.created_at, "size": 0,
                    "engagement": 0, "tier": None, "lead_post_pk": t.row.id,
                }
        if new_rows:
            # Rows are locked in one order (signature, then case id) by every worker, so two
            # workers writing the same cases wait for each other instead of deadlocking.
            report.cases_new += insert_ignore_count(conn, c, ["signature"],
                                                    [new_rows[sig] for sig in sorted(new_rows)])
            existing.update({sig: cid for sig, cid in conn.execute(
                select(c.c.signature, c.c.id).where(c.c.signature.in_(list(new_rows))))})
        grouped: dict[str, list[_Triaged]] = defaultdict(list)
        for t in results:
            grouped[t.signature].append(t)
        conn.execute(  # executemany: one statement for every case the batch touched
            update(c).where(c.c.id == bindparam("b_id")).values(
                size=c.c.size + bindparam("b_n"),
                engagement=c.c.engagement + bindparam("b_engagement"),
                last_seen=func.max(c.c.last_seen, bindparam("b_last", type_=s.Time))
                if conn.dialect.name == "sqlite"
                else func.greatest(c.c.last_seen, bindparam("b_last", type_=s.Time))),
            [{"b_id": existing[sig], "b_n": len(members),
              "b_engagement": sum(m.virality.engagement for m in members),
              "b_last": max(m.row.created_at for m in members)}
             for sig, members in sorted(grouped.items(), key=lambda kv: existing[kv[0]])],
        )
        return existing

    def _enqueue(self, conn: Connection, results: list[_Triaged], case_ids: dict[str, int],
                 now: datetime, report: StageReport) -> None:
        q, c, p = s.queue_items, s.cases, s.posts
        best: dict[int, _Triaged] = {}
        for t in results:
            if not t.qualified:
                continue
            report.qualified += 1
            case_id = case_ids[t.signature]
            if case_id not in best or t.priority.score > best[case_id].priority.score:
                best[case_id] = t
        if not best:
            return
        current = {}
        for row in conn.execute(select(q.c.case_id, q.c.revision, q.c.tier, q.c.idempotency_key,
                                       q.c.decision)
                                .where(q.c.case_id.in_(list(best))).order_by(q.c.revision)):
            current[row.case_id] = row  # the highest revision wins (ordered ascending)
        leads = dict(conn.execute(select(c.c.id, c.c.lead_post_pk).where(c.c.id.in_(list(best)))).all())
        lead_keys = {pk: f"{plat}:{pid}" for pk, plat, pid in conn.execute(
            select(p.c.id, p.c.platform, p.c.post_id).where(p.c.id.in_(list(leads.values()))))}
        entries = []
        for case_id, t in best.items():
            previous = current.get(case_id)
            if previous is not None and tier_rank(t.priority.tier) >= tier_rank(previous.tier):
                continue  # not an escalation: the consumer already has this case
            if previous is not None and previous.decision == "dismissed":
                continue  # a person dismissed the case; only a person reopens it (review page)
            revision = previous.revision + 1 if previous else 1
            key = previous.idempotency_key if previous else lead_keys[leads[case_id]]
            entries.append((self._item(t, key, revision, f"c:{case_id}", now), t.row.id, case_id))
        if entries:
            entries.sort(key=lambda e: e[2])  # lock order: by case id, as in _cases
            report.enqueued += enqueue_many(conn, entries, now=now)
            conn.execute(update(c).where(c.c.id == bindparam("b_id")).values(tier=bindparam("b_tier")),
                         [{"b_id": case_id, "b_tier": item["triage"]["priority"]["tier"]}
                          for item, _, case_id in entries])

    def _item(self, t: _Triaged, key: str, revision: int, case_key: str, now: datetime) -> dict:
        r = t.row
        return build_queue_item(
            item_id=str(uuid.uuid4()), idempotency_key=key, revision=revision, enqueued_at=now,
            post=PostView(r.platform, r.post_id, original_link(r.platform, r.post_id), r.created_at, r.lang,
                          r.redacted_text, r.author_pseudonym, r.author_followers, r.redaction_counts or {}),
            labels=t.labels,
            agency=self.registry.by_id.get(t.agency_id) if t.agency_id else None,
            virality=t.virality, priority=t.priority, case_key=case_key,
            provenance=ProvenanceView(r.collector, r.collector_version, r.query, r.fetched_at,
                                      r.raw_sha256),
            models=self.classifier.versions,
        )

    def _release(self, ids: list[int]) -> None:
        """Give a failed batch back at once (best effort: the database may be what failed)."""
        p = s.posts
        try:
            with self.engine.begin() as conn:
                conn.execute(update(p).where(p.c.id.in_(ids), p.c.triage_state == "pending",
                                             p.c.triage_lease_owner == self.owner)
                             .values(triage_lease_until=None, triage_lease_owner=None))
        except Exception:  # noqa: BLE001 - taken again at our next claim, or expires for others
            self._unreleased.update(ids)
            log.warning("could not release the leases of a failed batch", extra={"stage": "triage"})

    # --- incidents --------------------------------------------------------------------------
    def _merged(self, younger: str, older: str) -> None:
        self._merges.append((younger, older))

    def _load_cases(self) -> None:
        """Feed the posts of the last grouping window to a fresh index with the cases the store
        gave them, so this worker continues the store's cases (after a restart, and beside
        other workers)."""
        p = s.posts
        with self.engine.connect() as conn:
            newest = conn.execute(select(func.max(p.c.created_at)).where(p.c.triage_state == "done")).scalar()
            self._synced_from = self._low_watermark(conn)
            if newest is None:
                return
            since = newest - timedelta(seconds=self.cases.window)
            self._adopt(conn, and_(p.c.triage_state == "done", p.c.created_at >= since))

    def _sync_cases(self) -> None:
        """Adopt the posts other workers triaged since the last sync, so that posts about one
        incident join one case whichever worker triages them. Every post below the lowest
        pending id is done, so only ids from the previous such watermark up are looked at, and
        only the keys of those this index already holds are read, not their texts."""
        p = s.posts
        with self.engine.connect() as conn:
            low = self._low_watermark(conn)
            done = conn.execute(select(p.c.id, p.c.platform, p.c.post_id).where(
                p.c.triage_state == "done", p.c.id >= self._synced_from)).all()
            new = [r.id for r in done if self.cases.case_of(f"{r.platform}:{r.post_id}") is None]
            for start in range(0, len(new), 500):
                self._adopt(conn, p.c.id.in_(new[start : start + 500]))
        self._synced_from = low

    def _low_watermark(self, conn: Connection) -> int:
        p = s.posts
        lowest_pending = conn.execute(select(func.min(p.c.id)).where(p.c.triage_state == "pending")).scalar()
        if lowest_pending is not None:
            return int(lowest_pending)
        return int(conn.execute(select(func.max(p.c.id))).scalar() or 0) + 1

    def _adopt(self, conn: Connection, where: Any) -> None:
        p, c = s.posts, s.cases
        rows = conn.execute(
            select(p.c.platform, p.c.post_id, p.c.redacted_text, p.c.created_at, p.c.quote_of_id,
                   p.c.reply_to_id, p.c.conversation_id, c.c.signature)
            .select_from(p.outerjoin(c, c.c.id == p.c.case_id)).where(where).order_by(p.c.id))
        for r in rows:  # a post triaged before cases were stored has no signature: regrouped
            self.cases.assign(f"{r.platform}:{r.post_id}", r.redacted_text, r.created_at, r.quote_of_id,
                              r.reply_to_id, extract_urls(r.redacted_text),
                              conversation_id=r.conversation_id, case_key=r.signature or None)

    def _apply_merges(self, conn: Connection, case_ids: dict[str, int]) -> None:
        """A post that tied two cases together: the younger case's posts join the older one."""
        c, p = s.cases, s.posts
        for younger, older in sorted(self._merges):
            ids = dict(conn.execute(select(c.c.signature, c.c.id)
                                    .where(c.c.signature.in_([younger, older]))).all())
            if younger in ids and older in ids:
                moved = conn.execute(update(p).where(p.c.case_id == ids[younger])
                                     .values(case_id=ids[older])).rowcount or 0
                conn.execute(update(c).where(c.c.id == ids[older]).values(size=c.c.size + moved))
                conn.execute(update(c).where(c.c.id == ids[younger]).values(size=0))
        self._merges.clear()

    # --- driving ----------------------------------------------------------------------------
    def _refresh_baselines(self, now: datetime) -> None:
        if self._baselines_at and now - self._baselines_at < timedelta(minutes=10):
            return
        tr = s.triage_results
        since = now - timedelta(days=BASELINE_DAYS)
        values: dict[str | None, list[float]] = defaultdict(list)
        with self.engine.connect() as conn:
            for agency_id, eph in conn.execute(select(tr.c.agency_id, tr.c.engagement_per_hour)
                                               .where(tr.c.triaged_at >= since)):
                values[agency_id].append(eph)
                values[None].append(eph)
        self._baselines = {k: baseline_from_history(v) for k, v in values.items() if len(v) >= 20}
        self._baselines_at = now

    def _snapshots(self, ids: list[int]) -> dict[int, list[MetricSnapshot]]:
        m = s.metric_snapshots
        out: dict[int, list[MetricSnapshot]] = defaultdict(list)
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                for row in conn.execute(select(m).where(m.c.post_pk.in_(ids[start:start + 500]))
                                        .order_by(m.c.post_pk, m.c.at)):
                    out[row.post_pk].append(MetricSnapshot(
                        row.at, row.reposts, row.quotes, row.replies, row.likes, row.views, row.score))
        return out

    def run_batch(self, now: datetime | None = None) -> StageReport:
        """Claim, triage and write one batch; an empty report when nothing is pending."""
        started = time.perf_counter()
        now = now or self.clock()
        report = StageReport()
        rows = self.claim(now)
        report.claimed = len(rows)
        if rows and not self._cases_loaded:
            self._load_cases()
            self._cases_loaded = True
        elif rows:
            self._sync_cases()
        if rows:
            try:
                self._refresh_baselines(now)
                results = self._triage(rows, self._snapshots([r.id for r in rows]), now)
                with self.engine.begin() as conn:
                    self._write(conn, results, now, report)
            except Exception:
                self._release([r.id for r in rows])
                raise
        self._statistics.note(report.triaged)
        report.seconds = time.perf_counter() - started
        if rows:
            log.info("triaged batch", extra={"stage": "triage", "claimed": report.claimed,
                                             "triaged": report.triaged, "enqueued": report.enqueued,
                                             "seconds": round(report.seconds, 3)})
        return report

    def drain(self, now: datetime | None = None) -> StageReport:
        """Triage until nothing is pending."""
        total = StageReport()
        while True:
            report = self.run_batch(now)
            total.add(report)
            if report.claimed == 0:
                return total

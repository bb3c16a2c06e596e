"""What people do on the detail page: label, escalate, dismiss, assign, note.

Each action is one transaction: a `reviews` row (what the retraining notebook and the KPIs read)
and an `audit_log` row. Escalation enqueues a contract-v1 item when the post's case has none (or
its latest was a dismissal: escalation reopens it), with the triage stage's idempotency rule:
key = platform:post_id of the case's lead post, revision = the key's highest revision + 1 (a
concurrent double escalation inserts one item). Dismissing the post a case's item shows queues a
revision carrying `review.decision = "dismissed"`, so consumers close the case.
Validation errors are `ActionError`s with a message for the user, in Bahasa Indonesia.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from pipelines.queue import enqueue
from pipelines.store import schema as s
from triage.agencies import Registry
from triage.classify import MODEL_NAMES, LabelPrediction, Labels
from triage.contract import PostView, ProvenanceView, ReviewView, build_queue_item, original_link
from triage.priority import Priority
from triage.taxonomy import LABEL_SETS, display
from triage.virality import Virality

from .queries import human_labels

log = logging.getLogger(__name__)

LABEL_FIELDS = MODEL_NAMES  # kind, substance, maladministration
DISMISS_REASONS = {
    "bukan_aduan": "Bukan aduan layanan publik",
    "duplikat": "Duplikat dari aduan lain",
    "sudah_ditangani": "Sudah ditangani di kanal lain",
    "spam": "Spam, promosi atau akun bot",
    "tidak_jelas": "Isi tidak cukup jelas untuk ditindaklanjuti",
    "lainnya": "Alasan lain (tulis di keterangan)",
}
MAX_NOTE = 2000
MAX_REASON_TEXT = 500
ESCALATION_REASON = "diteruskan manual oleh petugas humas"


class ActionError(Exception):
    """A form value is invalid; `message` tells the user why, in Bahasa Indonesia."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Escalation:
    enqueued: bool  # False: the case was already in the queue
    item_id: str | None


def _review(conn: Connection, post_pk: int, user_id: int, actor: str, now: datetime, action: str,
            field: str | None, value: str | None, audit: dict[str, Any] | None = None) -> None:
    conn.execute(insert(s.reviews).values(post_pk=post_pk, user_id=user_id, at=now, action=action,
                                          field=field, value=value))
    conn.execute(insert(s.audit_log).values(at=now, actor=actor, action=f"review.{action}",
                                            target=f"post:{post_pk}", detail=audit))


def _triage_row(conn: Connection, post_pk: int) -> Any:
    row = conn.execute(select(s.triage_results).where(s.triage_results.c.post_pk == post_pk)).first()
    if row is None:
        raise ActionError("Unggahan tidak ditemukan atau belum dipilah.")
    return row


def save_labels(engine: Engine, post_pk: int, user_id: int, actor: str, values: dict[str, str],
                *, now: datetime) -> list[str]:
    """Store the three labels as reviewed by a person; returns the fields that were corrected."""
    for name in LABEL_FIELDS:
        if values.get(name) not in LABEL_SETS[name]:
            raise ActionError(f"Pilih label {FIELD_NAMES[name].lower()} dari daftar.")
    if values["kind"] != "aduan" and values["maladministration"] != "tidak_ada":
        raise ActionError("Jenis maladministrasi hanya diisi untuk aduan: pilih \"Tidak ada\", "
                          "atau ubah jenis unggahan menjadi Aduan.")
    corrected = []
    with engine.begin() as conn:
        row = _triage_row(conn, post_pk)
        for name in LABEL_FIELDS:
            machine = getattr(row, name)
            if values[name] != machine:
                corrected.append(name)
            _review(conn, post_pk, user_id, actor, now, "label", name, values[name],
                    {"field": name, "value": values[name], "machine": machine})
    return corrected


def dismiss(engine: Engine, registry: Registry, post_pk: int, user_id: int, actor: str, reason: str,
            text: str, *, now: datetime) -> bool:
    """Record the dismissal; when the post is the one its case's queue item shows, queue a new
    revision with `review.decision = "dismissed"` so consumers close the case (returns True)."""
    text = (text or "").strip()
    if reason not in DISMISS_REASONS:
        raise ActionError("Pilih alasan penolakan dari daftar.")
    if reason == "lainnya" and not text:
        raise ActionError("Tuliskan keterangan untuk alasan lain.")
    if len(text) > MAX_REASON_TEXT:
        raise ActionError(f"Keterangan terlalu panjang (maksimal {MAX_REASON_TEXT} karakter).")
    with engine.begin() as conn:
        t = _triage_row(conn, post_pk)
        value = f"{reason}: {text}" if text else reason
        post = conn.execute(select(s.posts).where(s.posts.c.id == post_pk)).one()
        latest = _latest_item(conn, post)
        # Consumers hear of it when the post is the one their item shows; dismissing another
        # copy in the case (a duplicate, say) leaves the case's item standing.
        retract = (latest is not None and latest.post_pk == post_pk and latest.decision is None
                   and latest.status != "superseded")
        _review(conn, post_pk, user_id, actor, now, "dismiss", None, value,
                {"reason": reason, "text_length": len(text), "queue_retracted": retract})
        if retract:
            _enqueue_revision(conn, registry, post, t, latest.idempotency_key, actor, now,
                              priority=Priority(t.priority_score, t.tier, tuple(t.reasons)),
                              review=ReviewView("dismissed", reason, now))
    return retract


def assign(engine: Engine, post_pk: int, user_id: int, actor: str, assignee: str, *, now: datetime) -> None:
    with engine.begin() as conn:
        _triage_row(conn, post_pk)
        known = conn.execute(select(s.users.c.id).where(s.users.c.name == assignee,
                                                        s.users.c.disabled.is_(False))).first()
        if not assignee or known is None:
            raise ActionError("Pilih rekan kerja dari daftar pengguna aktif.")
        _review(conn, post_pk, user_id, actor, now, "assign", None, assignee, {"assignee": assignee})


def note(engine: Engine, post_pk: int, user_id: int, actor: str, text: str, *, now: datetime) -> None:
    text = (text or "").strip()
    if not text:
        raise ActionError("Catatan tidak boleh kosong.")
    if len(text) > MAX_NOTE:
        raise ActionError(f"Catatan terlalu panjang (maksimal {MAX_NOTE} karakter).")
    with engine.begin() as conn:
        _triage_row(conn, post_pk)
        # the audit log keeps the length only: a note may mention people
        _review(conn, post_pk, user_id, actor, now, "note", None, text, {"length": len(text)})


# --- escalation ---------------------------------------------------------------------------------
def _prediction(data: dict[str, Any]) -> LabelPrediction:
    return LabelPrediction(str(data["label"]), float(data["score"]),
                           tuple((str(a), float(b)) for a, b in data.get("alternatives") or ()),
                           tuple(str(e) for e in data.get("evidence") or ()))


def effective_labels(machine: dict[str, Any], human: dict[str, str]) -> Labels:
    """The machine's labels with people's corrections: a corrected label gets score 1.0, the
    machine's choice as its alternative, and no machine evidence."""
    out = {}
    for name in LABEL_FIELDS:
        predicted = _prediction(machine[name])
        value = human.get(name)
        if value and value != predicted.label:
            predicted = LabelPrediction(value, 1.0, ((predicted.label, predicted.score),), ())
        out[name] = predicted
    return Labels(**out)


def _latest_item(conn: Connection, post: Any) -> Any:
    """The highest revision queued for the post's case (for the post itself when it has none)."""
    q = s.queue_items
    mine = q.c.case_id == post.case_id if post.case_id is not None else q.c.post_pk == post.id
    return conn.execute(select(q.c.item_id, q.c.idempotency_key, q.c.post_pk, q.c.status, q.c.decision)
                        .where(mine).order_by(q.c.revision.desc()).limit(1)).first()


def _enqueue_revision(conn: Connection, registry: Registry, post: Any, t: Any, key: str,
                      actor: str, now: datetime, *, priority: Priority,
                      review: ReviewView | None = None) -> str | None:
    """A new revision of `key` showing `post` with its reviewed labels; the new item's id, or
    None when a concurrent action inserted that revision first."""
    q = s.queue_items
    revision = (conn.execute(select(func.max(q.c.revision)).where(q.c.idempotency_key == key))
                .scalar() or 0) + 1
    labels = effective_labels(t.labels, human_labels(conn, [post.id]).get(post.id, {}))
    v = t.virality or {}
    virality = Virality(score=float(v.get("score", t.virality_score)),
                        engagement=int(v.get("engagement", 0)),
                        engagement_per_hour=float(v.get("engagement_per_hour", t.engagement_per_hour)),
                        acceleration=float(v.get("acceleration", 0.0)),
                        baseline_ratio=float(v.get("baseline_ratio", 0.0)), forecast=None)
    item = build_queue_item(
        item_id=str(uuid.uuid4()), idempotency_key=key, revision=revision, enqueued_at=now,
        # the link without the author's handle (stored URLs may name a private person)
        post=PostView(post.platform, post.post_id, original_link(post.platform, post.post_id),
                      post.created_at, post.lang,
                      post.redacted_text, post.author_pseudonym, post.author_followers,
                      post.redaction_counts or {}),
        labels=labels,
        agency=registry.by_id.get(t.agency_id) if t.agency_id else None,
        virality=virality, priority=priority,
        case_key=f"c:{post.case_id}" if post.case_id is not None else None,
        provenance=ProvenanceView(post.collector, post.collector_version, post.query,
                                  post.fetched_at, post.raw_sha256),
        models=t.models or {},
        review=review,
    )
    # enqueue supersedes the older revisions not yet delivered: a consumer that never pulled
    # the case gets only its latest state
    inserted = enqueue(conn, item, post_pk=post.id, case_id=post.case_id, now=now)
    conn.execute(insert(s.audit_log).values(
        at=now, actor=actor, action="queue.enqueue", target=f"post:{post.id}",
        detail={"item_id": item["item_id"] if inserted else None, "idempotency_key": key,
                "revision": revision, "inserted": inserted,
                "decision": review.decision if review else None}))
    if inserted:
        log.info("queued revision %s of %s (%s)", revision, key, review.decision if review else "escalated")
    return item["item_id"] if inserted else None


def escalate(engine: Engine, registry: Registry, post_pk: int, user_id: int, actor: str,
             *, now: datetime) -> Escalation:
    """Queue the post's case, unless it is queued already; a dismissed case is reopened."""
    p, c = s.posts, s.cases
    with engine.begin() as conn:
        t = _triage_row(conn, post_pk)
        post = conn.execute(select(p).where(p.c.id == post_pk)).one()
        latest = _latest_item(conn, post)
        queued = latest is not None and latest.status != "superseded" and latest.decision is None
        _review(conn, post_pk, user_id, actor, now, "escalate", None, None,
                {"already_queued": queued, "reopened": latest is not None and latest.decision is not None})
        if queued:
            return Escalation(False, latest.item_id)
        lead_pk = None
        if post.case_id is not None:
            lead_pk = conn.execute(select(c.c.lead_post_pk).where(c.c.id == post.case_id)).scalar()
        lead = conn.execute(select(p.c.platform, p.c.post_id).where(p.c.id == (lead_pk or post_pk))).one()
        key = latest.idempotency_key if latest is not None else f"{lead.platform}:{lead.post_id}"
        priority = Priority(t.priority_score, t.tier, (*t.reasons, ESCALATION_REASON))
        item_id = _enqueue_revision(conn, registry, post, t, key, actor, now, priority=priority)
    return Escalation(item_id is not None, item_id)


FIELD_NAMES = {"kind": "Jenis", "substance": "Substansi", "maladministration": "Maladministrasi"}
LABEL_CHOICES = {name: [(label, display(label)) for label in LABEL_SETS[name]] for name in LABEL_FIELDS}

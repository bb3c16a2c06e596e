"""The complaint queue: at-least-once delivery of contract-v1 items with leases (pull).

States of a queue item::

    ready --claim--> leased --ack--> acked
      ^                 |
      +--nack / lease expired (after `delay`)      leased --(attempts >= max)--> dead
    dead --requeue (operator)--> ready             ready --newer revision--> superseded

Every claim is a *delivery* with its own id (`queue_deliveries`): acking it settles the item, a
repeated ack of the same delivery changes nothing, and an ack that comes after the lease ran out
(whether or not someone else holds the item now) is a conflict, never a silent success.

The pull queue is shared by all pull consumers (competing consumers): each item goes to one of
them at a time. Push consumers (webhooks, `pipelines.webhooks`) get every item each.

Claims on PostgreSQL are one `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)
RETURNING` statement that also sets the lease, so many consumers share the queue without
waiting on each other. On SQLite every write transaction starts with `BEGIN IMMEDIATE`, so
concurrent claimers (threads of the web app, processes) queue on the single writer lock instead
of failing with a stale snapshot. Times come from the caller (`now`), never from the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, func, or_, select, text, update

from pipelines.store import schema as s
from pipelines.store.sql import insert_ignore
from triage.errors import PantauError

MAX_ATTEMPTS = 8  # deliveries of one item before it is dead-lettered ([queue] max_attempts)
DEFAULT_LEASE_SECONDS = 300
DEFAULT_CLAIM = 10
MAX_CLAIM = 500
MAX_LEASE_SECONDS = 3600
MAX_DELAY_SECONDS = 86400
MAX_ERROR_CHARS = 500
STATUSES = ("ready", "leased", "acked", "dead", "superseded")


class QueueError(PantauError):
    """A queue operation cannot be done."""


class QueueArgumentError(QueueError):
    """An argument is out of range (the HTTP API answers 422)."""


class DeliveryNotFoundError(QueueError):
    """No delivery with that id exists for this consumer (HTTP 404)."""


class DeliveryConflictError(QueueError):
    """The delivery exists but its lease expired or it was settled otherwise (HTTP 409).

    `code`: "lease_expired" or "already_settled".
    """

    def __init__(self, message: str, *, code: str = "lease_expired") -> None:
        super().__init__(message)
        self.code = code


class ItemNotFoundError(QueueError):
    """No queue item with that id."""


@dataclass(frozen=True)
class QueueConfig:
    """The [queue] section of the config (its `policy` table belongs to triage.qualify)."""

    max_attempts: int = MAX_ATTEMPTS

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> QueueConfig:
        raw = section.get("max_attempts", MAX_ATTEMPTS)
        if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 100:
            raise QueueError(f"[queue] max_attempts must be a whole number 1..100, got {raw!r}")
        return cls(max_attempts=raw)


@dataclass(frozen=True)
class Delivery:
    """One claimed item: settle it with `ack` or `nack` using `delivery_id`."""

    delivery_id: str
    item: dict[str, Any]
    lease_until: datetime


@dataclass(frozen=True)
class NackResult:
    status: str  # "ready" (retried at available_at) or "dead"
    available_at: datetime | None


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes: on SQLite it takes the writer lock up front (BEGIN IMMEDIATE)."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise QueueArgumentError(f"{name} must be between {low} and {high}")


def _parse_delivery_id(delivery_id: str) -> str:
    try:
        return str(uuid.UUID(str(delivery_id)))
    except ValueError:
        raise DeliveryNotFoundError(f"unknown delivery id {str(delivery_id)[:64]!r}") from None


# --- enqueue (the triage stage writes items itself, in its own transaction) --------------------

def enqueue(conn: Connection, item: Mapping[str, Any], *, post_pk: int, case_id: int | None,
            now: datetime) -> bool:
    """Insert one contract item inside the caller's transaction (an outbox write).

    A newer revision supersedes the ready older ones of the same idempotency key. Returns False
    when that (idempotency_key, revision) is already queued.
    """
    return enqueue_many(conn, [(item, post_pk, case_id)], now=now) == 1


def enqueue_many(conn: Connection, entries: Sequence[tuple[Mapping[str, Any], int, int | None]],
                 *, now: datetime) -> int:
    """`enqueue` for many (item, post_pk, case_id) at once: one INSERT; returns how many were new."""
    if not entries:
        return 0
    q = s.queue_items
    rows = []
    for item, post_pk, case_id in entries:
        priority = item["triage"]["priority"]
        rows.append({
            "item_id": item["item_id"], "idempotency_key": item["idempotency_key"],
            "revision": int(item["revision"]), "case_id": case_id, "post_pk": post_pk,
            "tier": priority["tier"], "priority_score": float(priority["score"]),
            "payload": dict(item), "enqueued_at": now, "status": "ready", "attempts": 0,
            "available_at": now, "decision": (item.get("review") or {}).get("decision"),
        })
    statement = insert_ignore(conn, q, ["idempotency_key", "revision"]).returning(q.c.item_id)
    new = set(conn.execute(statement, rows).scalars().all())
    for row in rows:  # revision 1 has nothing to supersede
        if row["revision"] > 1 and row["item_id"] in new:
            conn.execute(update(q).where(q.c.idempotency_key == row["idempotency_key"],
                                         q.c.revision < row["revision"], q.c.status == "ready")
                         .values(status="superseded"))
    return len(new)


# --- pull: claim, ack, nack --------------------------------------------------------------------

def _claimable(now: datetime, max_attempts: int) -> Any:
    q = s.queue_items
    return or_(
        and_(q.c.status == "ready", q.c.available_at <= now),
        and_(q.c.status == "leased", q.c.lease_until < now, q.c.attempts < max_attempts),
    )


def _dead_letter_expired(conn: Connection, now: datetime, max_attempts: int) -> None:
    """Expired leases of items out of attempts go to dead (skipping rows others hold)."""
    q = s.queue_items
    worn = and_(q.c.status == "leased", q.c.lease_until < now, q.c.attempts >= max_attempts)
    picked = select(q.c.id).where(worn)
    if conn.dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True)
    conn.execute(update(q).where(q.c.id.in_(picked.scalar_subquery())).values(
        status="dead", lease_until=None,
        last_error=f"lease expired {max_attempts} times without an ack"))


def claim(
    engine: Engine, consumer: str, max_items: int = DEFAULT_CLAIM,
    lease_seconds: int = DEFAULT_LEASE_SECONDS, *, now: datetime,
    max_attempts: int = MAX_ATTEMPTS,
) -> list[Delivery]:
    """Lease up to `max_items` due items to `consumer`, highest priority first.

    An item whose lease expired is claimable again (it counts as a failed attempt).
    """
    _check_range("max", max_items, 1, MAX_CLAIM)
    _check_range("lease_seconds", lease_seconds, 1, MAX_LEASE_SECONDS)
    q, qd = s.queue_items, s.queue_deliveries
    lease_until = now + timedelta(seconds=lease_seconds)
    leased = {"status": "leased", "lease_until": lease_until, "consumer": consumer,
              "attempts": q.c.attempts + 1}
    order = (q.c.priority_score.desc(), q.c.id)
    with write_transaction(engine) as conn:
        _dead_letter_expired(conn, now, max_attempts)
        due = select(q.c.id).where(_claimable(now, max_attempts)).order_by(*order).limit(max_items)
        if conn.dialect.name == "postgresql":
            # A CTE holding the locks is evaluated once (an IN subquery could be re-scanned).
            picked = due.with_for_update(skip_locked=True).cte("picked")
            rows = conn.execute(
                update(q).where(q.c.id == picked.c.id)
                .values(**leased, delivery_id=text("gen_random_uuid()::text"))
                .returning(q.c.id, q.c.delivery_id, q.c.payload, q.c.priority_score)
            ).all()
        else:
            ids = list(conn.execute(due).scalars())
            if not ids:
                return []
            new_ids = {pk: str(uuid.uuid4()) for pk in ids}
            conn.execute(update(q).where(q.c.id == bindparam("pk"))
                         .values(**leased, delivery_id=bindparam("did")),
                         [{"pk": pk, "did": did} for pk, did in new_ids.items()])
            rows = conn.execute(select(q.c.id, q.c.delivery_id, q.c.payload, q.c.priority_score)
                                .where(q.c.id.in_(ids))).all()
        if not rows:
            return []
        conn.execute(qd.insert(), [
            {"delivery_id": r.delivery_id, "queue_item_pk": r.id, "consumer": consumer,
             "claimed_at": now, "lease_until": lease_until} for r in rows
        ])
    rows = sorted(rows, key=lambda r: (-r.priority_score, r.id))
    return [Delivery(r.delivery_id, r.payload, lease_until) for r in rows]


def _settling(conn: Connection, delivery_id: str, consumer: str | None) -> tuple[Any, Any]:
    """The delivery and its item, the item row locked; NotFound for someone else's delivery."""
    q, qd = s.queue_items, s.queue_deliveries
    found = conn.execute(select(qd.c.queue_item_pk, qd.c.consumer)
                         .where(qd.c.delivery_id == delivery_id)).first()
    if found is None or (consumer is not None and found.consumer != consumer):
        raise DeliveryNotFoundError(f"unknown delivery id {delivery_id}")
    item = conn.execute(select(q.c.id, q.c.status, q.c.delivery_id, q.c.lease_until, q.c.attempts)
                        .where(q.c.id == found.queue_item_pk).with_for_update()).one()
    # Read again under the item's lock: a concurrent settle of this delivery is now visible.
    delivery = conn.execute(select(qd.c.outcome, qd.c.lease_until)
                            .where(qd.c.delivery_id == delivery_id)).one()
    return delivery, item


def _still_leased(item: Any, delivery_id: str, now: datetime) -> bool:
    return item.status == "leased" and item.delivery_id == delivery_id and item.lease_until >= now


def ack(engine: Engine, delivery_id: str, *, now: datetime, consumer: str | None = None) -> bool:
    """Settle a delivery. Returns False for a repeated ack (which changes nothing).

    Raises DeliveryNotFoundError (unknown, or another consumer's) and DeliveryConflictError
    (lease expired, or the delivery was nacked).
    """
    delivery_id = _parse_delivery_id(delivery_id)
    q, qd = s.queue_items, s.queue_deliveries
    with write_transaction(engine) as conn:
        # Fast path, one statement: the delivery still holds a live lease on its item.
        live = [q.c.delivery_id == delivery_id, q.c.status == "leased", q.c.lease_until >= now]
        if consumer is not None:
            live.append(q.c.consumer == consumer)
        if conn.execute(update(q).where(*live).values(status="acked", acked_at=now, lease_until=None)
                        .returning(q.c.id)).first() is not None:
            conn.execute(update(qd).where(qd.c.delivery_id == delivery_id)
                         .values(outcome="acked", settled_at=now))
            return True
        # Otherwise say why (under the item's lock, so a concurrent settle is seen).
        delivery, item = _settling(conn, delivery_id, consumer)
        if delivery.outcome == "acked":
            return False
        if delivery.outcome is not None:
            raise DeliveryConflictError(f"delivery {delivery_id} was already {delivery.outcome}",
                                        code="already_settled")
        raise DeliveryConflictError(
            f"the lease of delivery {delivery_id} expired at "
            f"{delivery.lease_until:%Y-%m-%dT%H:%M:%SZ}; the item will be delivered again")


def ack_many(engine: Engine, delivery_ids: Sequence[str], *, now: datetime,
             consumer: str | None = None) -> dict[str, str]:
    """Settle many deliveries in one transaction (one durable commit instead of one per item).

    Returns each id's outcome: "acked", "already_acked", or the error code of `ack`
    ("not_found", "lease_expired", "already_settled"); one bad id never fails the others.
    """
    q, qd = s.queue_items, s.queue_deliveries
    out: dict[str, str] = {}
    wanted: list[str] = []
    for raw in delivery_ids:
        try:
            wanted.append(_parse_delivery_id(raw))
        except DeliveryNotFoundError:
            out[str(raw)] = "not_found"
    if not wanted:
        return out
    with write_transaction(engine) as conn:
        live = [q.c.delivery_id.in_(wanted), q.c.status == "leased", q.c.lease_until >= now]
        if consumer is not None:
            live.append(q.c.consumer == consumer)
        acked = set(conn.execute(update(q).where(*live)
                                 .values(status="acked", acked_at=now, lease_until=None)
                                 .returning(q.c.delivery_id)).scalars())
        if acked:
            conn.execute(update(qd).where(qd.c.delivery_id.in_(acked))
                         .values(outcome="acked", settled_at=now))
        for delivery_id in wanted:
            if delivery_id in acked:
                out[delivery_id] = "acked"
                continue
            try:
                delivery, _ = _settling(conn, delivery_id, consumer)
            except DeliveryNotFoundError:
                out[delivery_id] = "not_found"
                continue
            out[delivery_id] = ("already_acked" if delivery.outcome == "acked" else
                                "already_settled" if delivery.outcome else "lease_expired")
    return out


def nack(
    engine: Engine, delivery_id: str, *, now: datetime, delay_seconds: int = 0,
    error: str | None = None, consumer: str | None = None, max_attempts: int = MAX_ATTEMPTS,
) -> NackResult:
    """Give an item back: ready again after `delay_seconds`, or dead after `max_attempts`.

    A repeated nack of the same delivery returns the first answer and changes nothing.
    """
    _check_range("delay_seconds", delay_seconds, 0, MAX_DELAY_SECONDS)
    delivery_id = _parse_delivery_id(delivery_id)
    q, qd = s.queue_items, s.queue_deliveries
    reason = (error or "nack")[:MAX_ERROR_CHARS]
    with write_transaction(engine) as conn:
        delivery, item = _settling(conn, delivery_id, consumer)
        if delivery.outcome in ("nacked", "dead"):
            return NackResult("dead" if delivery.outcome == "dead" else "ready", None)
        if delivery.outcome is not None:
            raise DeliveryConflictError(f"delivery {delivery_id} was already {delivery.outcome}",
                                        code="already_settled")
        if not _still_leased(item, delivery_id, now):
            raise DeliveryConflictError(f"the lease of delivery {delivery_id} expired; "
                                        "the item will be delivered again")
        dead = item.attempts >= max_attempts
        available_at = now + timedelta(seconds=delay_seconds)
        conn.execute(update(q).where(q.c.id == item.id).values(
            status="dead" if dead else "ready", available_at=available_at, lease_until=None,
            last_error=reason if not dead else f"nacked {item.attempts} times; last: {reason}"))
        conn.execute(update(qd).where(qd.c.delivery_id == delivery_id).values(
            outcome="dead" if dead else "nacked", settled_at=now, error=reason))
        return NackResult("dead", None) if dead else NackResult("ready", available_at)


# --- operators ---------------------------------------------------------------------------------

def requeue(engine: Engine, item_id: str, *, now: datetime) -> None:
    """Operator action: a dead (or acked) item goes back to ready with fresh attempts."""
    q = s.queue_items
    with write_transaction(engine) as conn:
        status = conn.execute(select(q.c.status).where(q.c.item_id == item_id)).scalar_one_or_none()
        if status is None:
            raise ItemNotFoundError(f"unknown queue item {item_id}")
        if status not in ("dead", "acked"):
            raise QueueError(f"item {item_id} is {status}; only dead or acked items can be requeued")
        conn.execute(update(q).where(q.c.item_id == item_id).values(
            status="ready", attempts=0, available_at=now, lease_until=None))


def requeue_dead(engine: Engine, *, now: datetime) -> int:
    """Operator action: every dead item back to ready; returns how many."""
    q = s.queue_items
    with write_transaction(engine) as conn:
        ids = list(conn.execute(select(q.c.id).where(q.c.status == "dead")).scalars())
        if ids:
            conn.execute(update(q).where(q.c.id.in_(ids)).values(
                status="ready", attempts=0, available_at=now, lease_until=None))
    return len(ids)


def stats(engine: Engine, *, now: datetime) -> dict[str, int]:
    """Counts per state (dead letters included), expired leases, and webhook push state."""
    q, w = s.queue_items, s.webhook_deliveries
    with engine.connect() as conn:
        counts = dict(conn.execute(select(q.c.status, func.count()).group_by(q.c.status)).all())
        expired = conn.execute(select(func.count()).where(
            q.c.status == "leased", q.c.lease_until < now)).scalar_one()
        delayed = conn.execute(select(func.count()).where(
            q.c.status == "ready", q.c.available_at > now)).scalar_one()
        pushes = dict(conn.execute(select(w.c.status, func.count()).group_by(w.c.status)).all())
    out = {k: int(counts.get(k, 0)) for k in STATUSES}
    out["ready_delayed"] = int(delayed)
    out["lease_expired"] = int(expired)
    for k in ("pending", "delivered", "dead"):
        out[f"webhook_{k}"] = int(pushes.get(k, 0))
    return out


_LIST_COLUMNS = (
    s.queue_items.c.item_id, s.queue_items.c.idempotency_key, s.queue_items.c.revision,
    s.queue_items.c.status, s.queue_items.c.tier, s.queue_items.c.priority_score,
    s.queue_items.c.attempts, s.queue_items.c.enqueued_at, s.queue_items.c.available_at,
    s.queue_items.c.consumer, s.queue_items.c.last_error, s.queue_items.c.payload,
)


def list_items(engine: Engine, *, status: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """Items by priority (highest first), optionally of one state."""
    if status is not None and status not in STATUSES:
        raise QueueArgumentError(f"status must be one of {', '.join(STATUSES)}")
    q = s.queue_items
    query = select(*_LIST_COLUMNS)
    if status:
        query = query.where(q.c.status == status)
    query = query.order_by(q.c.priority_score.desc(), q.c.id).limit(limit)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def get_item(engine: Engine, item_id: str) -> dict[str, Any]:
    """One item (by item id or by any of its delivery ids) with its delivery history."""
    q, qd = s.queue_items, s.queue_deliveries
    with engine.connect() as conn:
        by_delivery = select(qd.c.queue_item_pk).where(qd.c.delivery_id == item_id)
        row = conn.execute(select(q).where(or_(q.c.item_id == item_id,
                                               q.c.id.in_(by_delivery.scalar_subquery())))).first()
        if row is None:
            raise ItemNotFoundError(f"unknown queue item or delivery {item_id}")
        deliveries = conn.execute(
            select(qd.c.delivery_id, qd.c.consumer, qd.c.claimed_at, qd.c.lease_until,
                   qd.c.outcome, qd.c.settled_at, qd.c.error)
            .where(qd.c.queue_item_pk == row.id).order_by(qd.c.claimed_at, qd.c.delivery_id)).all()
    out = dict(row._mapping)
    out["deliveries"] = [dict(d._mapping) for d in deliveries]
    return out

"""The complaint queue: at-least-once delivery of contract-v1 items with leases.

States: ready -> leased -> acked; a nack or an expired lease returns the item to ready (after a
delay); after MAX_ATTEMPTS deliveries an item is dead (visible, requeue-able by an operator);
a newer revision of the same case supersedes a ready older one. Claims on PostgreSQL use
`FOR UPDATE SKIP LOCKED` inside one UPDATE statement, so many consumers share the queue; on
SQLite the single writer lock serialises claims.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select, text, update

from pipelines.store import schema as s
from triage.errors import PantauError

MAX_ATTEMPTS = 8
DEFAULT_LEASE_SECONDS = 300
MAX_CLAIM = 500
MAX_LEASE_SECONDS = 3600


class QueueError(PantauError):
    """A queue operation cannot be done."""


class DeliveryNotFound(QueueError):
    """No delivery with that id exists."""


class DeliveryConflict(QueueError):
    """The delivery exists but its lease expired or it was already settled differently."""


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    item: dict[str, Any]


def _check_claim(max_items: int, lease_seconds: int) -> None:
    if not 1 <= max_items <= MAX_CLAIM:
        raise QueueError(f"max must be between 1 and {MAX_CLAIM}")
    if not 1 <= lease_seconds <= MAX_LEASE_SECONDS:
        raise QueueError(f"lease_seconds must be between 1 and {MAX_LEASE_SECONDS}")


def _release_expired(conn: Connection, now: datetime) -> None:
    """Expired leases go back to ready, or to dead after too many attempts."""
    q = s.queue_items
    expired = and_(q.c.status == "leased", q.c.lease_until < now)
    conn.execute(update(q).where(expired, q.c.attempts >= MAX_ATTEMPTS)
                 .values(status="dead", last_error="lease expired too many times"))
    conn.execute(update(q).where(expired).values(status="ready", available_at=now,
                                                 delivery_id=None, lease_until=None))


def claim(
    engine: Engine, consumer: str, max_items: int, lease_seconds: int, *, now: datetime
) -> list[Delivery]:
    """Lease up to `max_items` ready items, highest priority first."""
    _check_claim(max_items, lease_seconds)
    q = s.queue_items
    lease_until = now + timedelta(seconds=lease_seconds)
    with engine.begin() as conn:
        _release_expired(conn, now)
        ready = and_(q.c.status == "ready", q.c.available_at <= now)
        order = (q.c.priority_score.desc(), q.c.id)
        if conn.dialect.name == "postgresql":
            picked = (select(q.c.id).where(ready).order_by(*order).limit(max_items)
                      .with_for_update(skip_locked=True).scalar_subquery())
            ids_rows = conn.execute(
                update(q).where(q.c.id.in_(picked))
                .values(status="leased", lease_until=lease_until, consumer=consumer,
                        attempts=q.c.attempts + 1, delivery_id=text("gen_random_uuid()::text"))
                .returning(q.c.id, q.c.delivery_id, q.c.payload)
            ).all()
        else:
            ids = [r[0] for r in conn.execute(select(q.c.id).where(ready).order_by(*order).limit(max_items))]
            ids_rows = []
            for item_pk in ids:
                delivery_id = str(uuid.uuid4())
                conn.execute(update(q).where(q.c.id == item_pk).values(
                    status="leased", lease_until=lease_until, consumer=consumer,
                    attempts=q.c.attempts + 1, delivery_id=delivery_id))
                payload = conn.execute(select(q.c.payload).where(q.c.id == item_pk)).scalar_one()
                ids_rows.append((item_pk, delivery_id, payload))
    priority = {row[0]: i for i, row in enumerate(ids_rows)}
    ids_rows.sort(key=lambda r: priority[r[0]])
    return [Delivery(str(delivery_id), payload) for _, delivery_id, payload in ids_rows]


def _leased(conn: Connection, delivery_id: str, consumer: str | None) -> Any:
    q = s.queue_items
    row = conn.execute(select(q.c.id, q.c.status, q.c.lease_until, q.c.consumer, q.c.attempts)
                       .where(q.c.delivery_id == delivery_id).with_for_update()).first()
    if row is None:
        raise DeliveryNotFound(f"unknown delivery id {delivery_id}")
    if consumer is not None and row.consumer != consumer:
        raise DeliveryNotFound(f"unknown delivery id {delivery_id}")
    return row


def ack(engine: Engine, delivery_id: str, *, now: datetime, consumer: str | None = None) -> bool:
    """Settle a delivery. A repeated ack is a no-op (returns False); an expired lease conflicts."""
    q = s.queue_items
    with engine.begin() as conn:
        row = _leased(conn, delivery_id, consumer)
        if row.status == "acked":
            return False
        if row.status != "leased" or row.lease_until < now:
            raise DeliveryConflict(f"delivery {delivery_id} is no longer leased (lease expired)")
        conn.execute(update(q).where(q.c.id == row.id).values(status="acked", acked_at=now, lease_until=None))
        return True


def nack(
    engine: Engine, delivery_id: str, *, now: datetime, delay_seconds: int = 0,
    error: str | None = None, consumer: str | None = None,
) -> str:
    """Give an item back: ready again after `delay_seconds`, or dead after MAX_ATTEMPTS."""
    if not 0 <= delay_seconds <= 86400:
        raise QueueError("delay_seconds must be between 0 and 86400")
    q = s.queue_items
    with engine.begin() as conn:
        row = _leased(conn, delivery_id, consumer)
        if row.status != "leased" or row.lease_until < now:
            raise DeliveryConflict(f"delivery {delivery_id} is no longer leased")
        status = "dead" if row.attempts >= MAX_ATTEMPTS else "ready"
        conn.execute(update(q).where(q.c.id == row.id).values(
            status=status, available_at=now + timedelta(seconds=delay_seconds), delivery_id=None,
            lease_until=None, last_error=(error or "nack")[:500]))
        return status


def requeue(engine: Engine, item_id: str, *, now: datetime) -> None:
    """Operator action: a dead (or acked) item goes back to ready with fresh attempts."""
    q = s.queue_items
    with engine.begin() as conn:
        status = conn.execute(select(q.c.status).where(q.c.item_id == item_id)).scalar_one_or_none()
        if status is None:
            raise QueueError(f"unknown item {item_id}")
        if status not in ("dead", "acked"):
            raise QueueError(f"item {item_id} is {status}; only dead or acked items can be requeued")
        conn.execute(update(q).where(q.c.item_id == item_id).values(
            status="ready", attempts=0, available_at=now, delivery_id=None, lease_until=None))


def stats(engine: Engine, *, now: datetime) -> dict[str, int]:
    q = s.queue_items
    with engine.connect() as conn:
        counts = dict(conn.execute(select(q.c.status, func.count()).group_by(q.c.status)).all())
        expired = conn.execute(select(func.count()).where(
            q.c.status == "leased", q.c.lease_until < now)).scalar_one()
    out = {k: int(counts.get(k, 0)) for k in ("ready", "leased", "acked", "dead", "superseded")}
    out["lease_expired"] = int(expired)
    return out


def list_items(
    engine: Engine, *, status: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    q = s.queue_items
    query = select(q.c.item_id, q.c.idempotency_key, q.c.revision, q.c.status, q.c.tier,
                   q.c.priority_score, q.c.attempts, q.c.enqueued_at, q.c.payload)
    if status:
        query = query.where(q.c.status == status)
    query = query.order_by(q.c.priority_score.desc(), q.c.id).limit(limit)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def get_item(engine: Engine, item_id: str) -> dict[str, Any]:
    q = s.queue_items
    with engine.connect() as conn:
        row = conn.execute(select(q).where(or_(q.c.item_id == item_id,
                                               q.c.delivery_id == item_id))).first()
    if row is None:
        raise QueueError(f"unknown item {item_id}")
    return dict(row._mapping)


Clock = Callable[[], datetime]

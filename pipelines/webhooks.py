"""Push delivery: every queue item POSTed to each consumer's webhook, signed, retried, isolated.

Each request carries the item as JSON and three headers:

- `X-Pantau-Timestamp`: unix seconds when it was signed;
- `X-Pantau-Signature`: `sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>`;
- `X-Pantau-Delivery`: the id of this (consumer, item) delivery, the same on every retry.

A consumer verifies with `verify_signature` and rejects timestamps outside its replay window
(default 300 s), then drops repeats by `X-Pantau-Delivery` or the item's `idempotency_key` +
`revision`. Any 2xx answer settles the delivery; anything else (including redirects, which are not
followed) is retried with exponential backoff and jitter, and dead-lettered after
`max_attempts` failures (`pantau consumers retry NAME` puts them back).

State lives per consumer and item in `webhook_deliveries`, so one consumer's outage never holds
back another's items. `dispatch_due` is what the scheduler calls: it fans new items out to every
active webhook consumer, leases the due deliveries (at most `batch_per_consumer` each), and sends
them on a small thread pool, one consumer per task, each request with a timeout and each
consumer's batch within a time budget; a consumer's first failure ends its batch for this round.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import Connection, Engine, and_, exists, or_, select, update

from pipelines.context import AppContext
from pipelines.queue import write_transaction
from pipelines.store import schema as s
from pipelines.store.sql import insert_ignore
from triage.contract import PIPELINE_VERSION
from triage.errors import PantauError

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Pantau-Signature"
TIMESTAMP_HEADER = "X-Pantau-Timestamp"
DELIVERY_HEADER = "X-Pantau-Delivery"
ATTEMPT_HEADER = "X-Pantau-Attempt"
DEFAULT_REPLAY_WINDOW = 300  # seconds a consumer should accept a timestamp either side of now
FANOUT_BATCH = 2000
USER_AGENT = f"pantau-webhook/{PIPELINE_VERSION}"


class WebhookError(PantauError):
    """The webhook configuration is invalid."""


@dataclass(frozen=True)
class WebhookConfig:
    """[queue.webhooks] in the config."""

    max_attempts: int = 10  # failed attempts before a delivery is dead
    timeout_seconds: float = 10.0  # per request (connect is capped at 5 s)
    backoff_base_seconds: float = 30.0  # first retry after 15..30 s, then doubling
    backoff_max_seconds: float = 6 * 3600.0
    workers: int = 4  # consumers served at once
    batch_per_consumer: int = 20  # deliveries per consumer per round
    round_seconds: float = 60.0  # time budget of one consumer's batch in a round

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> WebhookConfig:
        values: dict[str, Any] = {}
        limits = {"max_attempts": (1, 100), "timeout_seconds": (0.1, 120),
                  "backoff_base_seconds": (0.1, 86400), "backoff_max_seconds": (1, 7 * 86400),
                  "workers": (1, 64), "batch_per_consumer": (1, 1000), "round_seconds": (1, 3600)}
        for key, raw in section.items():
            if key not in limits:
                raise WebhookError(f"[queue.webhooks]: unknown setting {key!r}")
            low, high = limits[key]
            if isinstance(raw, bool) or not isinstance(raw, int | float) or not low <= raw <= high:
                raise WebhookError(f"[queue.webhooks] {key} must be a number {low}..{high}, got {raw!r}")
            values[key] = int(raw) if key in ("max_attempts", "workers", "batch_per_consumer") else float(raw)
        return cls(**values)

    @property
    def lock_seconds(self) -> float:
        """How long a leased batch stays ours: the round budget plus one request, with margin."""
        return self.round_seconds + self.timeout_seconds + 30.0


# --- signatures --------------------------------------------------------------------------------

def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def sign(secret: str | bytes, timestamp: int | str, body: str | bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 of `f"{timestamp}.{body}"` under `secret`."""
    message = _bytes(str(timestamp)) + b"." + _bytes(body)
    return "sha256=" + hmac.new(_bytes(secret), message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str | bytes, timestamp: int | str, body: str | bytes, signature: str,
    now: datetime | float, window: float = DEFAULT_REPLAY_WINDOW,
) -> bool:
    """For consumers (and tests): True when `signature` is ours and `timestamp` is within
    `window` seconds of `now` (a datetime or unix seconds). Compare the raw body as received."""
    try:
        sent = int(str(timestamp))
    except ValueError:
        return False
    current = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(current - sent) > window:
        return False
    return hmac.compare_digest(sign(secret, sent, body), str(signature or ""))


def backoff_seconds(attempts: int, *, base: float, cap: float, rng: Callable[[], float]) -> float:
    """Exponential backoff with equal jitter: half the step fixed, half random."""
    step = min(cap, base * 2 ** max(attempts - 1, 0))
    return step / 2 + rng() * step / 2


# --- state -------------------------------------------------------------------------------------

@dataclass
class DispatchReport:
    fanned_out: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    superseded: int = 0
    deferred: int = 0  # leased but left for the next round (failure or time budget)
    by_consumer: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))


@dataclass(frozen=True)
class _Job:
    pk: int
    delivery_id: str
    attempts: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class _Target:
    name: str
    url: str
    secret: str


def _webhook_consumers() -> Any:
    c = s.consumers
    return and_(c.c.active.is_(True), c.c.webhook_url.is_not(None), c.c.webhook_secret.is_not(None))


def fan_out(conn: Connection, now: datetime) -> int:
    """Create the missing (consumer, item) deliveries: every item enqueued since the consumer
    was added, except superseded revisions. Safe to run concurrently (conflicts are ignored)."""
    c, q, w = s.consumers, s.queue_items, s.webhook_deliveries
    missing = (
        select(c.c.id, q.c.id)
        .select_from(c.join(q, q.c.enqueued_at >= c.c.created_at))
        .where(_webhook_consumers(), q.c.status != "superseded",
               ~exists().where(w.c.consumer_id == c.c.id, w.c.queue_item_pk == q.c.id))
        .order_by(q.c.id).limit(FANOUT_BATCH)
    )
    rows = [{"delivery_id": str(uuid.uuid4()), "consumer_id": cid, "queue_item_pk": qid,
             "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
            for cid, qid in conn.execute(missing)]
    if rows:
        conn.execute(insert_ignore(conn, w, ["consumer_id", "queue_item_pk"]), rows)
    return len(rows)


def _lease(conn: Connection, now: datetime, config: WebhookConfig,
           report: DispatchReport) -> dict[_Target, list[_Job]]:
    """Lease each consumer's due deliveries; mark superseded revisions instead of sending them."""
    c, q, w = s.consumers, s.queue_items, s.webhook_deliveries
    newer = s.queue_items.alias("newer")
    targets = conn.execute(select(c.c.id, c.c.name, c.c.webhook_url, c.c.webhook_secret)
                           .where(_webhook_consumers()).order_by(c.c.name)).all()
    until = now + timedelta(seconds=config.lock_seconds)
    out: dict[_Target, list[_Job]] = {}
    for target in targets:
        due = (
            select(w.c.id, w.c.delivery_id, w.c.attempts, q.c.payload,
                   exists().where(newer.c.idempotency_key == q.c.idempotency_key,
                                  newer.c.revision > q.c.revision).label("stale"))
            .join(q, q.c.id == w.c.queue_item_pk)
            .where(w.c.consumer_id == target.id, w.c.status == "pending",
                   w.c.next_attempt_at <= now,
                   or_(w.c.locked_until.is_(None), w.c.locked_until < now))
            .order_by(w.c.next_attempt_at, w.c.id).limit(config.batch_per_consumer)
        )
        if conn.dialect.name == "postgresql":
            due = due.with_for_update(of=w, skip_locked=True)
        rows = conn.execute(due).all()
        stale = [r.id for r in rows if r.stale]
        if stale:
            conn.execute(update(w).where(w.c.id.in_(stale))
                         .values(status="superseded", locked_until=None))
            report.superseded += len(stale)
        jobs = [_Job(r.id, r.delivery_id, r.attempts, r.payload) for r in rows if not r.stale]
        if jobs:
            conn.execute(update(w).where(w.c.id.in_([j.pk for j in jobs])).values(locked_until=until))
            out[_Target(target.name, target.webhook_url, target.webhook_secret)] = jobs
    return out


# --- sending -----------------------------------------------------------------------------------

def body_bytes(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def _retry_after(response: requests.Response) -> float:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else 0.0


def _send(session: requests.Session, target: _Target, job: _Job, now: datetime,
          config: WebhookConfig) -> tuple[bool, int | None, str | None, float]:
    """One POST: (ok, HTTP status, error, Retry-After seconds). Errors never carry the URL."""
    body = body_bytes(job.payload)
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(target.secret, timestamp, body),
        DELIVERY_HEADER: job.delivery_id,
        ATTEMPT_HEADER: str(job.attempts + 1),
    }
    started = time.perf_counter()
    try:
        response = session.post(target.url, data=body, headers=headers, allow_redirects=False,
                                timeout=(min(5.0, config.timeout_seconds), config.timeout_seconds))
    except requests.Timeout:
        result = (False, None, f"timeout after {config.timeout_seconds:g}s", 0.0)
    except requests.ConnectionError:
        result = (False, None, "connection failed", 0.0)
    except requests.RequestException as exc:
        result = (False, None, f"request failed ({type(exc).__name__})", 0.0)
    else:
        ok = 200 <= response.status_code < 300
        error = None if ok else f"HTTP {response.status_code}"
        result = (ok, response.status_code, error, _retry_after(response))
        response.close()
    log.info("webhook delivery %s to %s: %s in %.2fs", job.delivery_id, target.name,
             "ok" if result[0] else result[2], time.perf_counter() - started)
    return result


def _record(engine: Engine, job: _Job, now: datetime, config: WebhookConfig,
            rng: Callable[[], float], outcome: tuple[bool, int | None, str | None, float]) -> str:
    ok, status, error, retry_after = outcome
    w = s.webhook_deliveries
    attempts = job.attempts + 1
    if ok:
        values: dict[str, Any] = {"status": "delivered", "delivered_at": now, "last_error": None}
        result = "sent"
    elif attempts >= config.max_attempts:
        values = {"status": "dead", "last_error": f"{error} (attempt {attempts}, giving up)"}
        result = "dead"
    else:
        delay = backoff_seconds(attempts, base=config.backoff_base_seconds,
                                cap=config.backoff_max_seconds, rng=rng)
        delay = min(max(delay, retry_after), config.backoff_max_seconds)
        values = {"next_attempt_at": now + timedelta(seconds=delay), "last_error": error}
        result = "failed"
    with write_transaction(engine) as conn:
        conn.execute(update(w).where(w.c.id == job.pk).values(
            attempts=attempts, last_status=status, locked_until=None, **values))
    return result


def _release(engine: Engine, jobs: list[_Job]) -> None:
    w = s.webhook_deliveries
    with write_transaction(engine) as conn:
        conn.execute(update(w).where(w.c.id.in_([j.pk for j in jobs])).values(locked_until=None))


def _serve(engine: Engine, session: requests.Session, target: _Target, jobs: list[_Job],
           now: datetime, config: WebhookConfig, rng: Callable[[], float],
           monotonic: Callable[[], float]) -> dict[str, int]:
    """One consumer's batch, in order; stops at its first failure or when out of time."""
    counts: dict[str, int] = defaultdict(int)
    deadline = monotonic() + config.round_seconds
    for index, job in enumerate(jobs):
        if monotonic() >= deadline:
            _release(engine, jobs[index:])
            counts["deferred"] += len(jobs) - index
            break
        result = _record(engine, job, now, config, rng, _send(session, target, job, now, config))
        counts[result] += 1
        if result != "sent":
            if jobs[index + 1:]:
                _release(engine, jobs[index + 1:])
                counts["deferred"] += len(jobs) - index - 1
            break
    return counts


def dispatch_due(
    ctx: AppContext, session: requests.Session, now: datetime, *,
    config: WebhookConfig | None = None, rng: Callable[[], float] = random.random,
    monotonic: Callable[[], float] = time.monotonic,
) -> DispatchReport:
    """One round of push delivery (what the scheduler runs every few seconds)."""
    if config is None:
        config = WebhookConfig.from_section(ctx.settings.section("queue").get("webhooks", {}))
    engine = ctx.engine
    report = DispatchReport()
    with write_transaction(engine) as conn:
        report.fanned_out = fan_out(conn, now)
        batches = _lease(conn, now, config, report)
    if batches:
        with ThreadPoolExecutor(max_workers=min(config.workers, len(batches)),
                                thread_name_prefix="pantau-webhook") as pool:
            futures = {target.name: pool.submit(_serve, engine, session, target, jobs, now,
                                                config, rng, monotonic)
                       for target, jobs in batches.items()}
            for name, future in futures.items():
                counts = future.result()
                report.by_consumer[name] = dict(counts)
                report.sent += counts.get("sent", 0)
                report.failed += counts.get("failed", 0)
                report.dead += counts.get("dead", 0)
                report.deferred += counts.get("deferred", 0)
    if report.dead:
        log.warning("webhooks: %d deliveries dead-lettered (pantau consumers retry NAME)", report.dead)
    return report


# --- operators ---------------------------------------------------------------------------------

def retry_dead(engine: Engine, consumer: str, *, now: datetime) -> int:
    """Dead deliveries of one consumer back to pending, with fresh attempts; returns how many."""
    c, w = s.consumers, s.webhook_deliveries
    with write_transaction(engine) as conn:
        cid = conn.execute(select(c.c.id).where(c.c.name == consumer)).scalar_one_or_none()
        if cid is None:
            raise WebhookError(f"no consumer named {consumer!r}")
        return conn.execute(update(w).where(w.c.consumer_id == cid, w.c.status == "dead").values(
            status="pending", attempts=0, next_attempt_at=now, locked_until=None)).rowcount


def deliveries(engine: Engine, consumer: str, *, status: str | None = None,
               limit: int = 20) -> list[dict[str, Any]]:
    """One consumer's push deliveries, newest first (for `pantau consumers deliveries`)."""
    c, q, w = s.consumers, s.queue_items, s.webhook_deliveries
    query = (select(w.c.delivery_id, w.c.status, w.c.attempts, w.c.next_attempt_at,
                    w.c.delivered_at, w.c.last_status, w.c.last_error, q.c.item_id,
                    q.c.idempotency_key, q.c.revision)
             .join(c, c.c.id == w.c.consumer_id).join(q, q.c.id == w.c.queue_item_pk)
             .where(c.c.name == consumer))
    if status:
        query = query.where(w.c.status == status)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(w.c.id.desc()).limit(limit)).all()
    return [dict(r._mapping) for r in rows]

"""Queue consumers: the systems that take items from Pantau, each with its own bearer token.

A token is shown once, when the consumer is added; the database keeps only its SHA-256 (the token
carries 256 random bits, so a fast hash is enough: there is nothing to brute-force). A consumer
may also have a webhook (URL + signing secret) to receive every item pushed to it
(`pipelines.webhooks`). The secret must be stored to sign, so it is kept in the database, shown
once at creation, and never logged or listed.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from pipelines.store import schema as s
from triage.errors import PantauError

log = logging.getLogger(__name__)

TOKEN_PREFIX = "pnt_"
SECRET_PREFIX = "whsec_"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class ConsumerError(PantauError):
    """A consumer cannot be added, found or changed."""


@dataclass(frozen=True)
class Consumer:
    id: int
    name: str
    active: bool
    created_at: datetime
    webhook_url: str | None


@dataclass(frozen=True)
class NewConsumer:
    """What `add_consumer` returns: the only moment the token (and secret) can be read."""

    consumer: Consumer
    token: str
    webhook_secret: str | None

    def __repr__(self) -> str:  # never print the credentials by accident
        return f"NewConsumer(consumer={self.consumer!r}, token='***', webhook_secret='***')"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_webhook_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ConsumerError("webhook URL must be an absolute http:// or https:// URL")
    return url


def describe_url(url: str | None) -> str:
    """A URL without its query, fragment or credentials: safe to print."""
    if not url:
        return "-"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _consumer(row: Any) -> Consumer:
    return Consumer(row.id, row.name, bool(row.active), row.created_at, row.webhook_url)


def add_consumer(engine: Engine, name: str, *, now: datetime,
                 webhook_url: str | None = None) -> NewConsumer:
    """Create a consumer with a fresh token (and webhook secret when a URL is given)."""
    if not NAME_PATTERN.match(name):
        raise ConsumerError("consumer name must be 1-64 characters of a-z, 0-9, '_', '.', '-', "
                            "starting with a letter or digit")
    if webhook_url is not None:
        check_webhook_url(webhook_url)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32) if webhook_url else None
    c = s.consumers
    try:
        with engine.begin() as conn:
            pk = conn.execute(insert(c).values(
                name=name, token_hash=hash_token(token), created_at=now, active=True,
                webhook_url=webhook_url, webhook_secret=secret)).inserted_primary_key[0]
    except IntegrityError:
        raise ConsumerError(f"a consumer named {name!r} already exists") from None
    log.info("added queue consumer %s (webhook: %s)", name, "yes" if webhook_url else "no")
    return NewConsumer(Consumer(pk, name, True, now, webhook_url), token, secret)


def authenticate(engine: Engine, token: str) -> Consumer | None:
    """The active consumer holding `token`, or None."""
    if not token or len(token) > 256:
        return None
    c = s.consumers
    with engine.connect() as conn:
        row = conn.execute(select(c.c.id, c.c.name, c.c.active, c.c.created_at, c.c.webhook_url)
                           .where(c.c.token_hash == hash_token(token))).first()
    if row is None or not row.active:
        return None
    return _consumer(row)


def get_consumer(engine: Engine, name: str) -> Consumer:
    c = s.consumers
    with engine.connect() as conn:
        row = conn.execute(select(c.c.id, c.c.name, c.c.active, c.c.created_at, c.c.webhook_url)
                           .where(c.c.name == name)).first()
    if row is None:
        raise ConsumerError(f"no consumer named {name!r}")
    return _consumer(row)


def list_consumers(engine: Engine) -> list[dict[str, Any]]:
    """Every consumer with its push counts; never the token hash or the webhook secret."""
    c, w = s.consumers, s.webhook_deliveries
    with engine.connect() as conn:
        rows = conn.execute(select(c.c.id, c.c.name, c.c.active, c.c.created_at, c.c.webhook_url)
                            .order_by(c.c.name)).all()
        counts: dict[int, dict[str, int]] = {}
        for cid, status, n in conn.execute(select(w.c.consumer_id, w.c.status, func.count())
                                           .group_by(w.c.consumer_id, w.c.status)):
            counts.setdefault(cid, {})[status] = int(n)
    return [
        {"name": r.name, "active": bool(r.active), "created_at": r.created_at,
         "webhook": describe_url(r.webhook_url) if r.webhook_url else None,
         "webhook_counts": counts.get(r.id, {})}
        for r in rows
    ]


def remove_consumer(engine: Engine, name: str) -> None:
    """Delete a consumer: its token stops working, its pending pushes are dropped.

    Items it holds on lease return to the queue when the lease runs out.
    """
    c = s.consumers
    with engine.begin() as conn:
        if conn.execute(delete(c).where(c.c.name == name)).rowcount == 0:
            raise ConsumerError(f"no consumer named {name!r}")
    log.info("removed queue consumer %s", name)


def set_active(engine: Engine, name: str, active: bool) -> None:
    """Pause (or resume) a consumer: an inactive one can neither pull nor receive pushes."""
    c = s.consumers
    with engine.begin() as conn:
        if conn.execute(update(c).where(c.c.name == name).values(active=active)).rowcount == 0:
            raise ConsumerError(f"no consumer named {name!r}")

"""Monthly budgets: X's tiers cap the posts an app may read per month; we count and pace.
Reddit has no such cap (it meters requests per minute): its budget counts requests, as a guard
against runaway loops (`unit`).

The count lives in the `checkpoints` table (source, key "budget:<period start>", value = posts
read), incremented atomically in SQL so two jobs of one source (search and metric refresh) can
share it. A period starts on `reset_day` of the month (the day the X subscription renews).
Pacing spreads the budget over the period: by any moment, at most the elapsed share of the month
(plus `pace_slack` of the budget) may have been used, so a busy week cannot starve the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import BigInteger, Engine, String, cast, select, update

from pipelines.store import schema as s
from pipelines.store.sql import insert_ignore

BUDGET_PREFIX = "budget:"


def period(now: datetime, reset_day: int = 1) -> tuple[datetime, datetime]:
    """[start, end) of the budget period that contains `now` (UTC)."""
    if not 1 <= reset_day <= 28:
        raise ValueError("budget reset_day must be between 1 and 28")
    now = now.astimezone(timezone.utc)
    start = now.replace(day=reset_day, hour=0, minute=0, second=0, microsecond=0)
    if now < start:
        start = _add_month(start, -1)
    return start, _add_month(start, 1)


def _add_month(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


@dataclass(frozen=True)
class BudgetStatus:
    source: str
    limit: int  # units (posts, requests) per period
    used: int  # units used this period (every kind)
    used_by_kind: dict[str, int]  # e.g. {"search": 800, "lookup": 200}
    period_start: datetime
    period_end: datetime
    paced_remaining: int  # what may be read right now under pacing
    unit: str = "posts"

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def exhausted(self) -> bool:
        return self.remaining <= 0

    def to_dict(self) -> dict:
        return {"limit": self.limit, "used": self.used, "remaining": self.remaining, "unit": self.unit,
                "used_by_kind": self.used_by_kind, "paced_remaining": self.paced_remaining,
                "period_start": self.period_start.isoformat(), "period_end": self.period_end.isoformat()}


class MonthlyBudget:
    """The budget of one source; `remaining(kind)` is what a collector may still use."""

    def __init__(self, engine: Engine, source: str, limit: int, clock: Callable[[], datetime], *,
                 reset_day: int = 1, pace: bool = True, pace_slack: float = 0.05,
                 shares: dict[str, float] | None = None, unit: str = "posts") -> None:
        self.engine = engine
        self.source = source
        self.limit = max(0, int(limit))
        self.clock = clock
        self.reset_day = reset_day
        self.pace = pace
        self.pace_slack = pace_slack
        self.shares = shares or {}  # kind -> at most this fraction of the limit (e.g. lookup 0.3)
        self.unit = unit  # what is counted: "posts" (X) or "requests" (Reddit)

    def _key(self, start: datetime, kind: str | None = None) -> str:
        return f"{BUDGET_PREFIX}{start:%Y-%m-%d}" + (f":{kind}" if kind else "")

    def _used(self, start: datetime) -> dict[str, int]:
        c = s.checkpoints.c
        base = self._key(start)
        with self.engine.connect() as conn:
            rows = conn.execute(select(c.key, c.value).where(
                c.source == self.source, c.key.startswith(base, autoescape=True))).all()
        out: dict[str, int] = {}
        for key, value in rows:
            kind = key[len(base) + 1:] if key != base else ""
            out[kind] = int(value or 0)
        return out

    def status(self) -> BudgetStatus:
        now = self.clock()
        start, end = period(now, self.reset_day)
        used = self._used(start)
        total = used.pop("", 0)
        return BudgetStatus(self.source, self.limit, total, used, start, end,
                            self._paced(total, now, start, end), self.unit)

    def _paced(self, used: int, now: datetime, start: datetime, end: datetime) -> int:
        if not self.pace:
            return max(0, self.limit - used)
        elapsed = (now - start) / (end - start)
        allowed = min(self.limit, int(self.limit * (elapsed + self.pace_slack)))
        return max(0, allowed - used)

    def remaining(self, kind: str = "search") -> int:
        status = self.status()
        left = status.paced_remaining
        if kind in self.shares:
            cap = int(self.limit * self.shares[kind])
            left = min(left, cap - status.used_by_kind.get(kind, 0))
        return max(0, left)

    def consume(self, amount: int, kind: str = "search") -> None:
        """Count `amount` units used (atomic increments of the period total and the kind's count)."""
        if amount <= 0:
            return
        start, _ = period(self.clock(), self.reset_day)
        c = s.checkpoints.c
        now = self.clock()
        with self.engine.begin() as conn:
            for key in (self._key(start), self._key(start, kind)):
                conn.execute(insert_ignore(conn, s.checkpoints, ["source", "key"]).values(
                    source=self.source, key=key, value="0", updated_at=now))
                conn.execute(update(s.checkpoints).where(c.source == self.source, c.key == key).values(
                    value=cast(cast(c.value, BigInteger) + amount, String), updated_at=now))

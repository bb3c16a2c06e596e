"""Priority: what humas must look at first, with reasons in Bahasa Indonesia (pure).

score = P(aduan) * (0.45 * virality + 0.40 * seriousness + 0.15 * clock), 0..1, where

* virality is the virality score / 100 (triage.virality);
* seriousness is the maladministration type's severity weight (configurable, DEFAULT_SEVERITY)
  times the classifier's confidence in it (0.5 + 0.5 * score);
* clock is the post's age against the SP4N-LAPOR! service times: the first response is due
  within 3 days (calendar), the follow-up within 5 working days (WIB dates, weekends and the
  given public holidays skipped). It grows linearly to 1.0 at 3 days, plus up to 0.25 more as
  the 5 working days run out, so old unhandled complaints keep rising.

Floors: a confident complaint of a severe type (weight >= 0.9: permintaan imbalan,
penyalahgunaan wewenang, diskriminasi) is at least P2 even when nobody shares it, and P1 once
it is also viral (2x the agency's usual speed) or past the 5-working-day follow-up.
Tiers: P1 >= 0.60 > P2 >= 0.40 > P3 >= 0.20 > P4.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

from triage.taxonomy import display
from triage.virality import Virality

if TYPE_CHECKING:  # the classifier module pulls in scikit-learn; records only need the type
    from triage.classify import Labels

# Severity of each maladministration type, 0..1 (configurable: [priority.severity] in the config).
DEFAULT_SEVERITY: dict[str, float] = {
    "permintaan_imbalan": 1.0,
    "penyalahgunaan_wewenang": 1.0,
    "diskriminasi": 0.9,
    "berpihak": 0.7,
    "konflik_kepentingan": 0.7,
    "tidak_patut": 0.6,
    "penyimpangan_prosedur": 0.6,
    "penundaan_berlarut": 0.5,
    "tidak_memberikan_pelayanan": 0.5,
    "tidak_kompeten": 0.4,
    "tidak_ada": 0.15,
}
UNKNOWN_SEVERITY = 0.3  # a label missing from the severity map
SEVERE = 0.9  # severity at or above which a confident complaint is never below P2
FIRST_RESPONSE_DAYS = 3.0  # SP4N-LAPOR!: first response within 3 days
FOLLOW_UP_WORKING_DAYS = 5.0  # SP4N-LAPOR!: follow-up within 5 working days
NEAR_DEADLINE_DAYS = 1.0  # "hampir lewat" this close to a deadline
WIB = timezone(timedelta(hours=7))
TIERS = (("P1", 0.60), ("P2", 0.40), ("P3", 0.20), ("P4", 0.0))
WEIGHTS = {"virality": 0.45, "serious": 0.40, "clock": 0.15}


@dataclass(frozen=True, slots=True)
class Priority:
    score: float  # 0..1
    tier: str  # P1 (first) .. P4
    reasons: tuple[str, ...]  # in Bahasa Indonesia, for humas staff

    def to_dict(self) -> dict:
        return {"score": round(self.score, 3), "tier": self.tier, "reasons": list(self.reasons)}


def tier_of(score: float) -> str:
    for tier, floor in TIERS:
        if score >= floor:
            return tier
    return "P4"


def tier_rank(tier: str) -> int:
    """P1 -> 1 ... P4 -> 4 (lower is more urgent)."""
    return int(tier[1:]) if tier and tier[1:].isdigit() else 9


def working_days_between(start: datetime, end: datetime, holidays: Collection[date] = (),
                         *, cap: float | None = None) -> float:
    """Working days (fractional) from `start` to `end`, counted on WIB dates: Monday to
    Friday, not in `holidays`. At most `cap` when given. Whole days in between are counted by
    arithmetic (five per week), not walked one by one: this runs once per triaged post."""
    if cap is not None and ((end - start).days // 7) * 5 - len(holidays) >= cap:
        return cap  # every full week holds five weekdays: surely past the cap (most old posts)
    cur, stop = start.astimezone(WIB), end.astimezone(WIB)
    if cur >= stop:
        return 0.0

    def working(day: date) -> bool:
        return day.weekday() < 5 and day not in holidays

    first, last = cur.date(), stop.date()
    if first == last:
        total = (stop - cur).total_seconds() / 86400.0 if working(first) else 0.0
    else:
        next_midnight = datetime.combine(first + timedelta(days=1), datetime.min.time(), WIB)
        last_midnight = datetime.combine(last, datetime.min.time(), WIB)
        total = (next_midnight - cur).total_seconds() / 86400.0 if working(first) else 0.0
        total += (stop - last_midnight).total_seconds() / 86400.0 if working(last) else 0.0
        total += _working_dates(first + timedelta(days=1), last, holidays)
    return min(total, cap) if cap is not None else total


def _working_dates(a: date, b: date, holidays: Collection[date]) -> int:
    """Weekdays in [a, b) that are not holidays."""
    weeks, rest = divmod((b - a).days, 7)
    start = a.weekday()
    count = weeks * 5 + sum(1 for i in range(rest) if (start + i) % 7 < 5)
    return count - sum(1 for h in set(holidays) if a <= h < b and h.weekday() < 5)


def add_working_days(start: datetime, days: float, holidays: Collection[date] = ()) -> datetime:
    """The moment `days` working days after `start` (the follow-up deadline for days=5)."""
    cur = start.astimezone(WIB)
    left = days * 86400.0
    while True:
        midnight = datetime.combine(cur.date() + timedelta(days=1), datetime.min.time(), WIB)
        if cur.weekday() < 5 and cur.date() not in holidays:
            span = (midnight - cur).total_seconds()
            if span >= left:
                return (cur + timedelta(seconds=left)).astimezone(timezone.utc)
            left -= span
        cur = midnight


@dataclass(frozen=True, slots=True)
class Clock:
    """A complaint's age against the SP4N-LAPOR! service times."""

    age_days: float  # calendar days since the post
    working_days: float  # working days since the post (capped at the follow-up limit)
    pressure: float  # 0..1.25: 1.0 at the 3-day limit, 1.25 at the 5-working-day limit
    reason: str | None  # e.g. "hampir lewat batas 3 hari"


def service_clock(created_at: datetime, now: datetime, holidays: Collection[date] = ()) -> Clock:
    age = max((now - created_at).total_seconds() / 86400.0, 0.0)
    wd = working_days_between(created_at, now, holidays, cap=FOLLOW_UP_WORKING_DAYS)
    first = min(age / FIRST_RESPONSE_DAYS, 1.0)
    follow = min(wd / FOLLOW_UP_WORKING_DAYS, 1.0)
    pressure = first + 0.25 * follow
    if wd >= FOLLOW_UP_WORKING_DAYS:
        reason = "lewat batas 5 hari kerja"
    elif age >= FIRST_RESPONSE_DAYS and wd >= FOLLOW_UP_WORKING_DAYS - NEAR_DEADLINE_DAYS:
        reason = "hampir lewat batas 5 hari kerja"
    elif age >= FIRST_RESPONSE_DAYS:
        reason = "lewat batas 3 hari"
    elif age >= FIRST_RESPONSE_DAYS - NEAR_DEADLINE_DAYS:
        reason = "hampir lewat batas 3 hari"
    else:
        reason = None
    return Clock(age, wd, pressure, reason)


def _p_aduan(labels: Labels) -> float:
    kind = labels.kind
    return kind.score if kind.label == "aduan" else dict(kind.alternatives).get("aduan", 0.0)


def prioritize(
    labels: Labels,
    virality: Virality,
    *,
    created_at: datetime,
    now: datetime,
    agency_name: str | None = None,
    severity: Mapping[str, float] = DEFAULT_SEVERITY,
    holidays: Collection[date] = (),
) -> Priority:
    kind, mal = labels.kind, labels.maladministration
    is_aduan = kind.label == "aduan"
    p_aduan = _p_aduan(labels)
    weight = severity.get(mal.label, UNKNOWN_SEVERITY) if is_aduan else 0.0
    serious = weight * (0.5 + 0.5 * mal.score)
    clock = service_clock(created_at, now, holidays)
    viral = virality.score / 100.0
    is_viral = virality.baseline_ratio >= 2.0 and virality.engagement_per_hour > 0
    score = p_aduan * (WEIGHTS["virality"] * viral + WEIGHTS["serious"] * serious
                       + WEIGHTS["clock"] * clock.pressure)
    # A serious complaint must reach humas even when nobody shares it.
    if is_aduan and weight >= SEVERE and mal.score >= 0.5 and kind.score >= 0.5:
        score = max(score, 0.41)
        if is_viral or clock.working_days >= FOLLOW_UP_WORKING_DAYS:
            score = max(score, 0.61)
    score = max(0.0, min(1.0, score))

    reasons: list[str] = []
    if is_aduan and mal.label != "tidak_ada":
        reasons.append(display(mal.label).lower())
    if is_viral:
        who = f" untuk {agency_name}" if agency_name else ""
        reasons.append(f"viral: {virality.baseline_ratio:.0f}x lebih cepat dari biasanya{who}")
    elif virality.score >= 50:
        reasons.append(f"viralitas {virality.score:.0f}")
    forecast = virality.forecast
    if (forecast is not None and forecast.method != "observed" and forecast.engagement >= 100
            and forecast.engagement >= 2 * max(virality.engagement, 1)):
        reasons.append(f"diperkirakan ~{forecast.engagement:,.0f} interaksi dalam 24 jam"
                       .replace(",", "."))
    if is_aduan and clock.reason:
        reasons.append(clock.reason)
    if is_aduan and kind.score < 0.6:
        reasons.append("label belum pasti")
    if not reasons:
        reasons.append("aduan biasa" if is_aduan else "prioritas rendah")
    return Priority(score, tier_of(score), tuple(reasons))

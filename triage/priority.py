"""Priority: what humas must look at first, with reasons in Bahasa Indonesia (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from triage.classify import Labels
from triage.taxonomy import display
from triage.virality import Virality

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
FIRST_RESPONSE_DAYS = 3.0  # SP4N-LAPOR!: first response within 3 days
TIERS = (("P1", 0.60), ("P2", 0.40), ("P3", 0.20), ("P4", 0.0))


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


def prioritize(
    labels: Labels,
    virality: Virality,
    *,
    created_at: datetime,
    now: datetime,
    agency_name: str | None = None,
    severity: Mapping[str, float] = DEFAULT_SEVERITY,
) -> Priority:
    kind = labels.kind
    p_aduan = kind.score if kind.label == "aduan" else dict(kind.alternatives).get("aduan", 0.0)
    mal = labels.maladministration
    weight = severity.get(mal.label, 0.3) if kind.label == "aduan" else 0.0
    serious = weight * (0.5 + 0.5 * mal.score)
    age_days = max((now - created_at).total_seconds() / 86400.0, 0.0)
    clock = min(age_days / FIRST_RESPONSE_DAYS, 1.0)
    viral = virality.score / 100.0
    score = p_aduan * (0.45 * viral + 0.40 * serious + 0.15 * clock)
    # A serious complaint must reach humas even when nobody shares it.
    if kind.label == "aduan" and weight >= 0.9 and mal.score >= 0.5:
        score = max(score, 0.41)
    score = max(0.0, min(1.0, score))

    reasons: list[str] = []
    if kind.label == "aduan" and mal.label != "tidak_ada":
        reasons.append(display(mal.label).lower())
    if virality.baseline_ratio >= 2.0 and virality.engagement_per_hour > 0:
        who = f" untuk {agency_name}" if agency_name else ""
        reasons.append(f"viral: {virality.baseline_ratio:.0f}x lebih cepat dari biasanya{who}")
    elif virality.score >= 50:
        reasons.append(f"viralitas {virality.score:.0f}")
    if kind.label == "aduan":
        if age_days >= FIRST_RESPONSE_DAYS:
            reasons.append("lewat batas 3 hari")
        elif age_days >= FIRST_RESPONSE_DAYS - 1:
            reasons.append("hampir lewat batas 3 hari")
    if kind.label == "aduan" and kind.score < 0.6:
        reasons.append("label belum pasti")
    if not reasons:
        reasons.append("prioritas rendah" if kind.label != "aduan" else "aduan biasa")
    return Priority(score, tier_of(score), tuple(reasons))

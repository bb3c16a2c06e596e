"""What qualifies for the complaint queue: a policy per agency and substance (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from triage.errors import PantauError
from triage.priority import Priority, tier_rank
from triage.virality import Virality

if TYPE_CHECKING:  # the classifier module pulls in scikit-learn; records only need the type
    from triage.classify import Labels


class PolicyError(PantauError):
    """The queue policy in the config is invalid."""


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    min_kind_score: float = 0.5  # the classifier's confidence that the post is an aduan
    max_tier: str = "P3"  # lowest tier that still qualifies (P1 most urgent)
    min_virality: float = 0.0  # 0..100


@dataclass(frozen=True)
class Policies:
    """The default policy with overrides per agency id and per substance (agency wins)."""

    default: QueuePolicy = QueuePolicy()
    by_agency: Mapping[str, QueuePolicy] = field(default_factory=dict)
    by_substance: Mapping[str, QueuePolicy] = field(default_factory=dict)

    def for_post(self, agency_id: str | None, substance: str) -> QueuePolicy:
        if agency_id and agency_id in self.by_agency:
            return self.by_agency[agency_id]
        return self.by_substance.get(substance, self.default)


def qualifies(labels: Labels, priority: Priority, virality: Virality, policy: QueuePolicy) -> bool:
    return (
        labels.kind.label == "aduan"
        and labels.kind.score >= policy.min_kind_score
        and tier_rank(priority.tier) <= tier_rank(policy.max_tier)
        and virality.score >= policy.min_virality
    )


def _policy(base: QueuePolicy, data: Mapping[str, Any], where: str) -> QueuePolicy:
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if key in ("agency", "substance"):
            continue
        if key == "max_tier":
            if raw not in ("P1", "P2", "P3", "P4"):
                raise PolicyError(f"{where}: max_tier must be P1..P4, got {raw!r}")
            values[key] = raw
        elif key in ("min_kind_score", "min_virality"):
            if not isinstance(raw, int | float) or isinstance(raw, bool):
                raise PolicyError(f"{where}: {key} must be a number, got {raw!r}")
            limit = 1.0 if key == "min_kind_score" else 100.0
            if not 0 <= raw <= limit:
                raise PolicyError(f"{where}: {key} must be between 0 and {limit:g}")
            values[key] = float(raw)
        else:
            raise PolicyError(f"{where}: unknown setting {key!r}")
    return replace(base, **values)


def parse_policies(section: Mapping[str, Any]) -> Policies:
    """From the config's [queue.policy] table: defaults, then [queue.policy.agency.<id>] and
    [queue.policy.substance.<id>] overrides."""
    default = _policy(QueuePolicy(), section, "[queue.policy]")
    agencies = section.get("agency", {})
    substances = section.get("substance", {})
    return Policies(
        default=default,
        by_agency={k: _policy(default, v, f"[queue.policy.agency.{k}]") for k, v in agencies.items()},
        by_substance={
            k: _policy(default, v, f"[queue.policy.substance.{k}]") for k, v in substances.items()
        },
    )

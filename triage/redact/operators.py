"""Operators turn a detected value into its replacement; a policy picks one per entity type.

The registry `OPERATORS` is explicit: a policy names operators, and an unknown name is refused
when the policy is built, not when the first post arrives.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from triage.errors import PantauError

from .spans import ENTITY_TYPES, Span


class RedactionError(PantauError):
    """Redaction was asked for something it cannot do (bad policy, missing key, bad span)."""


class RedactionPolicyError(RedactionError):
    """A policy names an unknown entity type or operator."""


class RedactionKeyError(RedactionError):
    """The "hash" operator was asked for but the policy has no `hash_key`."""


@dataclass(frozen=True)
class RedactionPolicy:
    """Which operator applies to which entity type; types not listed get "replace"."""

    name: str = "v1"  # recorded in queue items as redaction.policy
    operators: Mapping[str, str] = field(default_factory=dict)  # entity type -> operator name
    hash_key: bytes | None = field(default=None, repr=False)  # secret for "hash"; never printed

    def __post_init__(self) -> None:
        ops = dict(self.operators)
        unknown_types = sorted(set(ops) - set(ENTITY_TYPES))
        if unknown_types:
            raise RedactionPolicyError(
                f"policy {self.name!r}: unknown entity type(s) {unknown_types}; "
                f"known: {', '.join(ENTITY_TYPES)}"
            )
        unknown_ops = sorted({op for op in ops.values() if op not in OPERATORS})
        if unknown_ops:
            raise RedactionPolicyError(
                f"policy {self.name!r}: unknown operator(s) {unknown_ops}; "
                f"known: {', '.join(sorted(OPERATORS))}"
            )
        if self.hash_key is not None and not isinstance(self.hash_key, bytes | bytearray):
            raise RedactionPolicyError(f"policy {self.name!r}: hash_key must be bytes")
        object.__setattr__(self, "operators", MappingProxyType(ops))

    def __repr__(self) -> str:
        key = "***" if self.hash_key is not None else "None"
        return f"RedactionPolicy(name={self.name!r}, operators={dict(self.operators)!r}, hash_key={key})"

    def __hash__(self) -> int:
        return hash((self.name, tuple(sorted(self.operators.items())), self.hash_key))

    def operator_for(self, entity_type: str) -> str:
        return self.operators.get(entity_type, "replace")

    def check(self, types: set[str]) -> None:
        """Raise RedactionKeyError now if any of `types` would need the missing hash key."""
        if self.hash_key is None:
            needing = sorted(t for t in types if self.operators.get(t) == "hash")
            if needing:
                raise RedactionKeyError(
                    f"policy {self.name!r} hashes {', '.join(needing)} but has no hash_key; "
                    "set RedactionPolicy(hash_key=...) from the configured secret"
                )


def _replace(value: str, span: Span, policy: RedactionPolicy) -> str:
    return f"[{span.type}]"


def _mask(value: str, span: Span, policy: RedactionPolicy) -> str:
    """Keep the last 4 characters of long values (3 of mid, 2 of short); all of tiny ones go."""
    n = len(value)
    keep = 4 if n >= 10 else 3 if n >= 7 else 2 if n >= 5 else 0
    return "*" * (n - keep) + value[n - keep :] if keep else "*" * n


def _hash(value: str, span: Span, policy: RedactionPolicy) -> str:
    if policy.hash_key is None:
        raise RedactionKeyError(
            f"policy {policy.name!r} hashes {span.type} but has no hash_key; "
            "set RedactionPolicy(hash_key=...) from the configured secret"
        )
    digest = hmac.new(bytes(policy.hash_key), value.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"[{span.type}:{digest[:8]}]"


def _drop(value: str, span: Span, policy: RedactionPolicy) -> str:
    return ""


OPERATORS: dict[str, Callable[[str, Span, RedactionPolicy], str]] = {
    "replace": _replace,  # "[NIK]"
    "mask": _mask,  # "************3456"
    "hash": _hash,  # "[NIK:1a2b3c4d]", keyed HMAC-SHA256: same value, same tag, not reversible
    "drop": _drop,  # ""
}

DEFAULT_POLICY = RedactionPolicy()

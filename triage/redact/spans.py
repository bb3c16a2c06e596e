"""The records of redaction: a detected `Span` and the `Redacted` result, plus overlap resolution."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Every entity type the detectors emit, in the order counts are reported.
ENTITY_TYPES: tuple[str, ...] = (
    "NIK",  # Nomor Induk Kependudukan, 16 digits
    "NO_KK",  # Kartu Keluarga number, 16 digits
    "NPWP",  # tax id, 15 digits (old form) or 16 (NIK-based)
    "PHONE",  # mobile and landline numbers
    "EMAIL",
    "BANK_ACCOUNT",  # only where the text says it is one (rek, bank name, a.n., transfer ke)
    "BPJS_NUMBER",  # BPJS Kesehatan / KIS card number, 13 digits
    "PLN_ID",  # PLN customer id (IDPEL, 12 digits) or meter number (11 digits)
    "VEHICLE_PLATE",
    "ADDRESS",  # street address phrase (Jl./Gg./Perum/Blok + number, RT/RW, Kel./Kec.)
    "PERSON",  # names of private persons where the text marks them
    "USERNAME",  # @handles of private persons
)


@dataclass(frozen=True, slots=True)
class Span:
    """One detected entity."""

    type: str  # one of ENTITY_TYPES
    start: int  # offset of the first character in the ORIGINAL text
    end: int  # offset one past the last character (text[start:end] is the value)
    score: float  # detector confidence in [0, 1]; overlaps are resolved by score, then length

    def __len__(self) -> int:
        return self.end - self.start

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True, slots=True)
class Redacted:
    """The result of redaction: new text and the spans that were applied to produce it."""

    text: str  # the redacted text
    entities: tuple[Span, ...]  # spans applied, sorted, offsets into the INPUT text

    def counts(self) -> dict[str, int]:
        """Number of entities per type, e.g. {"NIK": 1, "PHONE": 2}; types with none left out."""
        out: dict[str, int] = {}
        for span in self.entities:
            out[span.type] = out.get(span.type, 0) + 1
        order = {t: i for i, t in enumerate(ENTITY_TYPES)}
        return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], len(order))))


def _by_position(s: Span) -> tuple[int, int]:
    return (s.start, s.end)


def _rank(s: Span) -> tuple[float, int, int]:
    return (-s.score, s.start - s.end, s.start)


def resolve_overlaps(spans: Iterable[Span]) -> list[Span]:
    """Keep a non-overlapping subset: higher score first, then longer, then earlier; sorted by start."""
    ordered = sorted(spans, key=_by_position)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b.start < a.end or a.end <= a.start:
            break
    else:
        if not ordered or ordered[-1].end > ordered[-1].start:
            return ordered  # the common case: nothing overlaps
    ranked = sorted(ordered, key=_rank)
    kept: list[Span] = []
    for cand in ranked:
        if cand.end <= cand.start:
            continue
        if any(cand.start < k.end and k.start < cand.end for k in kept):
            continue
        kept.append(cand)
    kept.sort(key=lambda s: (s.start, s.end))
    return kept

"""Detector for Indonesian vehicle plates (TNKB): region prefix, 1-4 digits, 0-3 letters.

"B 1234 XYZ", "B1234XYZ", "AB 1234 CD", "D 12 A" are plates on their own (upper case, real prefix,
letter suffix). A plate without suffix letters ("B 1234") or typed in lower case ("b 1234 xyz") is
taken only next to a vehicle word (plat, nopol, motor, mobil, ...). Prefixes come from
`regions.PLATE_PREFIXES`, so "KA 123" (train) and "KRL 1234" are not plates.
"""

from __future__ import annotations

import re

from .regions import PLATE_PREFIXES
from .spans import Span

_PREFIX_ALT = "|".join(sorted(PLATE_PREFIXES, key=lambda p: (-len(p), p)))

# Upper-case plate; the suffix is optional here and checked in code.
_UPPER_RE = re.compile(
    rf"(?<![\w@/#.\-])({_PREFIX_ALT})(\x20?)(\d{{1,4}})(?:(\x20?)([A-Z]{{1,3}}))?(?![\w\-])"
)
# Any case; used only where a vehicle word is near.
_ANYCASE_RE = re.compile(
    rf"(?i)(?<![\w@/#.\-])({_PREFIX_ALT})\x20?(\d{{1,4}})(?:\x20?([a-z]{{1,3}}))?(?![\w\-])"
)
_VEHICLE_RE = re.compile(
    r"(?i)(?<![a-z])(?:plat|pelat|nopol|no\.?\s?pol|nomor\s+polisi|tnkb|kendaraan|motor|mobil"
    r"|truk|truck|bus|bis|angkot|taksi|taxi|ojol|ojek|pengendara|sopir|supir|driver|stnk|avanza"
    r"|xenia|innova|honda|yamaha|beat|vario|nmax|pajero|fortuner|brio|ayla|agya)"
)
# Words that follow a number in ordinary speech and must not be read as a plate suffix.
_NOT_SUFFIX = frozenset(
    """di ke yg dan ini itu dgn sdh utk ada jam km kg rb jt org kali hari thn bln mnt dr
    lg lgi pas aja sj kok sih ya yah deh nih tu tuh an rt rw no cm ml lt""".split()
)
_CONTEXT_WINDOW = 40


def _vehicle_near(scan: str, start: int, end: int) -> bool:
    lo = max(0, start - _CONTEXT_WINDOW)
    hi = min(len(scan), end + _CONTEXT_WINDOW // 2)
    return _VEHICLE_RE.search(scan, lo, hi) is not None


def detect_plates(scan: str) -> list[Span]:
    spans: list[Span] = []
    seen: set[int] = set()
    for m in _UPPER_RE.finditer(scan):
        suffix = m.group(5)
        if not m.group(2) and (not suffix or (not m.group(4) and len(m.group(3)) < 2)):
            continue  # glued without letters or with one digit: a code (P19, P2TL), not a plate
        if suffix is not None:
            spans.append(Span("VEHICLE_PLATE", m.start(), m.end(), 0.85))
            seen.add(m.start())
        elif _vehicle_near(scan, m.start(), m.end()):
            spans.append(Span("VEHICLE_PLATE", m.start(), m.end(), 0.8))
            seen.add(m.start())
    if not _VEHICLE_RE.search(scan):
        return spans
    for m in _ANYCASE_RE.finditer(scan):
        if m.start() in seen:
            continue
        suffix = m.group(3)
        end = m.end()
        if suffix is not None and suffix.lower() in _NOT_SUFFIX:
            end = m.end(2)
            suffix = None
        if " " not in m.group() and (suffix is None or len(m.group(2)) < 2):
            continue  # glued: needs letters and two digits, like the upper-case form
        if suffix is None and m.group(1).islower():
            continue  # "b 12" in lower case without letters is too weak
        if _vehicle_near(scan, m.start(), end):
            spans.append(Span("VEHICLE_PLATE", m.start(), end, 0.75))
    return spans

"""Detector for Indonesian vehicle plates (TNKB): region prefix, 1-4 digits, 0-3 letters.

"B 1234 XYZ", "AB 1234 CD", "D 12 A" are plates on their own (upper case, real prefix, spaced,
letter suffix). A plate without suffix letters ("B 1234"), glued ("B1234XYZ", which reads like a
product model or code: "M1403QA", "G30S", "S1 IT") or typed in lower case ("b 1234 xyz") is taken
only next to a vehicle word (plat, nopol, motor, mobil, ...). Prefixes come from
`regions.PLATE_PREFIXES`, so "KA 123" (train) and "KRL 1234" are not plates.
"""

from __future__ import annotations

import re
from bisect import bisect_left

from .regions import PLATE_PREFIXES
from .spans import Span

# Upper-case plate; the prefix is checked against PLATE_PREFIXES and the suffix in code.
_UPPER_RE = re.compile(r"(?<![\w@/#.\-])([A-Z]{1,2})(\x20?)(\d{1,4})(?:(\x20?)([A-Z]{1,3}))?(?![\w\-])")
# Any case, matched on the lower-cased text; used only where a vehicle word is near.
_ANYCASE_RE = re.compile(r"(?<![\w@/#.\-])([a-z]{1,2})\x20?(\d{1,4})(?:\x20?([a-z]{1,3}))?(?![\w\-])")
# Vehicle words, matched on the lower-cased text.
_VEHICLE_RE = re.compile(
    r"(?<![a-z])(?:plat|pelat|nopol|no\.?\s?pol|nomor\s+polisi|tnkb|kendaraan|motor|mobil"
    r"|truk|truck|bus|bis|angkot|taksi|taxi|ojol|ojek|pengendara|sopir|supir|driver|stnk|avanza"
    r"|xenia|innova|honda|yamaha|beat|vario|nmax|pajero|fortuner|brio|ayla|agya|tilang|etle"
    r"|samsat|bpkb|parkir|tabrak|nabrak|menabrak)(?![a-z])"
)
# Words that follow a number in ordinary speech and must not be read as a plate suffix.
_NOT_SUFFIX = frozenset(
    """di ke yg dan ini itu dgn sdh utk ada jam km kg rb jt org kali hari thn bln mnt dr
    lg lgi pas aja sj kok sih ya yah deh nih tu tuh an rt rw no cm ml lt""".split()
)
_CONTEXT_WINDOW = 40


def detect_plates(scan: str, lower: str, vehicle_words: list[int] | None = None) -> list[Span]:
    """VEHICLE_PLATE spans; vehicle words are matched on `lower` (same offsets).

    `vehicle_words`: sorted offsets of vehicle words (from `keywords.find_keywords`); found here
    when None.
    """
    if vehicle_words is None:
        vehicle_words = [m.start() for m in _VEHICLE_RE.finditer(lower)]
    words = vehicle_words

    def _vehicle_near(_lower: str, start: int, end: int) -> bool:
        i = bisect_left(words, start - _CONTEXT_WINDOW)
        return i < len(words) and words[i] < end + _CONTEXT_WINDOW // 2

    spans: list[Span] = []
    seen: set[int] = set()
    for m in _UPPER_RE.finditer(scan):
        if m.group(1) not in PLATE_PREFIXES:
            continue
        suffix = m.group(5)
        if not m.group(2):
            # glued "B1234XYZ" reads like a model or code (G30S, M1403QA, S1 IT, P2TL): it needs
            # letters, two digits and a vehicle word
            if suffix and len(m.group(3)) >= 2 and _vehicle_near(lower, m.start(), m.end()):
                spans.append(Span("VEHICLE_PLATE", m.start(), m.end(), 0.8))
                seen.add(m.start())
            continue
        if suffix is not None:
            spans.append(Span("VEHICLE_PLATE", m.start(), m.end(), 0.85))
            seen.add(m.start())
        elif _vehicle_near(lower, m.start(), m.end()):
            spans.append(Span("VEHICLE_PLATE", m.start(), m.end(), 0.8))
            seen.add(m.start())
    if not words:
        return spans
    for m in _ANYCASE_RE.finditer(lower):
        if m.start() in seen or m.group(1).upper() not in PLATE_PREFIXES:
            continue
        suffix = m.group(3)
        end = m.end()
        if suffix is not None and suffix in _NOT_SUFFIX:
            end = m.end(2)
            suffix = None
        if not m.group().startswith(m.group(1) + " ") and (suffix is None or len(m.group(2)) < 2):
            continue  # glued: needs letters and two digits, like the upper-case form
        if suffix is None and scan[m.start()].islower():
            continue  # "b 12" in lower case without letters is too weak
        if _vehicle_near(lower, m.start(), end):
            spans.append(Span("VEHICLE_PLATE", m.start(), end, 0.75))
    return spans

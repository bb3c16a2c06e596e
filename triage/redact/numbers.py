"""Detectors for identity numbers written as digits: NIK, KK, NPWP, phone, bank account, BPJS, PLN.

One pass finds every *digit run*: digit groups joined by single separators (space, dot, dash),
e.g. "3171 0102 9001 0003", "3171.010290.0003", "+62 812-3456-7890". Groups joined by a dot or
dash stay together (a "chunk"); chunks joined by a plain space may be two numbers side by side, so
the run is cut greedily, left to right, into the longest windows that classify. A window is
classified by its digit count, its prefix (08 mobile, 000 BPJS, a real PPKK region code) and the
nearest context word (see `context.py`). Prices ("Rp 1.500.000", "200rb"), dates, times and
numbers glued to letters (booking codes) are left alone.
"""

from __future__ import annotations

import re

from .context import nearest_context
from .regions import REGION_PREFIXES
from .spans import Span

# Digit run; atomic so a failed trailing check cannot backtrack into a shorter run.
_RUN_RE = re.compile(
    r"(?<![\d.,/#_+\-])(?>\+?\d+(?:(?:\x20?[.\-]\x20?)\d+|\x20\d+)*)(?![\w/]|[.,]\d)"
)
_GROUP_RE = re.compile(r"\d+")
# Landline with the area code in parentheses: (021) 555-1234, (0274) 512345.
_PAREN_PHONE_RE = re.compile(
    r"\(\x20?0\d{2,3}\x20?\)\x20?\d{3,4}(?:[\x20.\-]?\d{2,5})?(?!\d)"
    r"|\(\x20?\+?62\x20?\)\x20?8\d{2}(?:[\x20.\-]?\d{3,4}){2}(?!\d)"
)

_MONEY_BEFORE_RE = re.compile(r"(?:rp|idr)\.?\s?$")
_UNIT_AFTER_RE = re.compile(
    r"\s?(?:(?:rb|ribu|rbu|k|jt|juta|m|miliar|milyar|rupiah|kali|kwh|km|kg|wib|wita|wit)(?![a-z])|%|,-)"
)
_THOUSANDS_RE = re.compile(r"\d{1,3}(?:\.\d{3})+|\d{1,2}[.:]\d\d\x20?-\x20?\d{1,2}[.:]\d\d")
_DATE_RE = re.compile(
    r"(?:19|20)\d\d[.\-/](?:0?[1-9]|1[0-2])[.\-/]\d\d?|\d\d?[.\-/]\d\d?[.\-/](?:19|20)\d\d"
)
# Landline written with its area code apart: "021-5551234", "0274 512345".
_AREA_SPLIT_RE = re.compile(r"0[2-79]\d{1,2}[\x20.\-]\d{5,8}$")
_NPWP_FORMAT_RE = re.compile(r"\d\d\.\d{3}\.\d{3}\.\d-\d{3}\.\d{3}")

# Letters that may touch a number directly ("NIK3171...", "wa081234...") because they say what it is.
_GLUED_OK = frozenset(
    "nik ktp kk nokk npwp hp nohp wa telp tlp rek norek idpel bpjs kis pln meter no".split()
)

_MIN_DIGITS = 8
_MAX_WINDOW_DIGITS = 18


def _nik_date_ok(d: str) -> bool:
    """Digits 7-12 are DDMMYY, women's day + 40; digits 13-16 a serial other than 0000."""
    day, month = int(d[6:8]), int(d[8:10])
    return (1 <= day <= 31 or 41 <= day <= 71) and 1 <= month <= 12 and d[12:] != "0000"


def _is_mobile(d: str) -> bool:
    n = len(d)
    return (
        (d.startswith("08") and 10 <= n <= 13)
        or (d.startswith("628") and 11 <= n <= 14)
        or (d.startswith("6208") and 12 <= n <= 15)
    )


def _classify(
    d: str, raw: str, ctx: str | None, ctx_after: bool, plus: bool
) -> tuple[str, float] | None:
    """Entity type and score of one window of digits `d` (raw text `raw`), or None."""
    n = len(d)
    mobile = _is_mobile(d)
    if plus:
        if d.startswith("62") or 8 <= n <= 15:
            return "PHONE", 0.9
        return None
    money_like = _THOUSANDS_RE.fullmatch(raw) is not None or _DATE_RE.fullmatch(raw) is not None
    if ctx == "bank" and 8 <= n <= 16 and not money_like and not (mobile and ctx_after):
        return "BANK_ACCOUNT", 0.9
    if mobile:
        return "PHONE", 0.9 if ctx == "phone" else 0.85
    if ctx == "pay" and 8 <= n <= 16 and not money_like:
        return "BANK_ACCOUNT", 0.85
    if ctx == "npwp" and n in (15, 16):
        return "NPWP", 0.95
    if ctx == "bpjs" and n == 13:
        return "BPJS_NUMBER", 0.95
    if ctx == "pln" and n in (11, 12):
        return "PLN_ID", 0.9
    if n == 16:
        if ctx == "kk":
            return "NO_KK", 0.95
        if ctx == "nik":
            return "NIK", 0.95
        if ctx == "neg" or d[:4] not in REGION_PREFIXES:
            return None
        return ("NIK", 0.85) if _nik_date_ok(d) else ("NO_KK", 0.75)
    landline = d[0] == "0" and d[1] in "2345679" and 9 <= n <= 12 and not money_like
    if landline and _AREA_SPLIT_RE.match(raw):
        return "PHONE", 0.85 if ctx == "phone" else 0.75
    if ctx == "neg":
        return None
    if n == 13 and d.startswith("000"):
        return "BPJS_NUMBER", 0.8
    if n == 15:
        if _NPWP_FORMAT_RE.fullmatch(raw):
            return "NPWP", 0.95
        if not money_like:
            return "NPWP", 0.6
        return None
    if landline:
        return "PHONE", 0.85 if ctx == "phone" else 0.7
    if ctx == "phone" and 9 <= n <= 15 and (d[0] == "0" or d.startswith("62")):
        return "PHONE", 0.8
    return None


def _glued_ok(scan: str, start: int) -> bool:
    """A run preceded directly by letters counts only when those letters are a context word."""
    if start == 0 or not scan[start - 1].isalpha():
        return True
    i = start - 1
    while i > 0 and scan[i - 1].isalpha():
        i -= 1
    return scan[i:start].lower() in _GLUED_OK


def detect_numbers(scan: str, lower: str) -> list[Span]:
    """Spans of NIK, NO_KK, NPWP, PHONE, BANK_ACCOUNT, BPJS_NUMBER, PLN_ID in `scan`."""
    spans: list[Span] = []
    for m in _PAREN_PHONE_RE.finditer(scan):
        spans.append(Span("PHONE", m.start(), m.end(), 0.9))
    runs: list[tuple[int, int, list[list[tuple[int, int]]], list[int]]] = []
    for m in _RUN_RE.finditer(scan):
        start, end = m.span()
        raw = m.group()
        groups = [(g.start() + start, g.end() + start) for g in _GROUP_RE.finditer(raw)]
        total = sum(e - s for s, e in groups)
        if total < _MIN_DIGITS or not _glued_ok(scan, start):
            continue
        # chunks: groups joined by "." or "-" stay together; a plain space may split numbers
        chunks: list[list[tuple[int, int]]] = [[groups[0]]]
        for prev, cur in zip(groups, groups[1:], strict=False):
            if scan[prev[1] : cur[0]] == " ":
                chunks.append([cur])
            else:
                chunks[-1].append(cur)
        # an amount or a count at either end ("Rp 1.500.000", "2 kali") is not part of an id
        if raw[0] != "+" and _MONEY_BEFORE_RE.search(lower, max(0, start - 5), start):
            chunks = chunks[1:]
        if chunks and _UNIT_AFTER_RE.match(lower, end, end + 8):
            chunks = chunks[:-1]
        if not chunks:
            continue
        start, end = (start if raw[0] == "+" else chunks[0][0][0]), chunks[-1][-1][1]
        sizes = [sum(e - s for s, e in c) for c in chunks]
        total = sum(sizes)
        if total < _MIN_DIGITS:
            continue
        if total > _MAX_WINDOW_DIGITS and len(chunks) > 1 and len(set(sizes)) == 1:
            continue  # a long uniformly grouped code (PLN token, card serial): not personal data
        runs.append((start, end, chunks, sizes))
    for k, (start, end, chunks, sizes) in enumerate(runs):
        lo = runs[k - 1][1] if k else 0
        hi = runs[k + 1][0] if k + 1 < len(runs) else len(scan)
        _windows(scan, lower, chunks, sizes, scan[start] == "+", start, lo, hi, spans)
    return spans


def _windows(
    scan: str,
    lower: str,
    chunks: list[list[tuple[int, int]]],
    sizes: list[int],
    plus: bool,
    run_start: int,
    lo: int,
    hi: int,
    out: list[Span],
) -> None:
    """Cut one run into the longest classifiable windows of whole chunks, left to right."""
    i = 0
    nchunks = len(chunks)
    while i < nchunks:
        found = False
        for j in range(nchunks, i, -1):
            ndig = sum(sizes[i:j])
            if ndig > _MAX_WINDOW_DIGITS + 2 or ndig < _MIN_DIGITS:
                continue
            ws = run_start if (i == 0 and plus) else chunks[i][0][0]
            we = chunks[j - 1][-1][1]
            raw = scan[ws:we]
            digits = "".join(scan[s:e] for c in chunks[i:j] for s, e in c)
            ctx, ctx_after = nearest_context(lower, ws, we, lo, hi)
            got = _classify(digits, raw.lstrip("+"), ctx, ctx_after, plus and i == 0)
            if got is not None and got[0] == "PHONE" and j - i > 1 and sizes[j - 1] == 1:
                # "0812 3456 7890 2 kali": leave a trailing single digit out when the rest is enough
                shorter = _classify(digits[:-1], scan[ws : chunks[j - 2][-1][1]].lstrip("+"),
                                    ctx, ctx_after, plus and i == 0)
                if shorter is not None and shorter[0] == got[0]:
                    got, j, we = shorter, j - 1, chunks[j - 2][-1][1]
            if got is not None:
                out.append(Span(got[0], ws, we, got[1]))
                lo = we
                i = j
                found = True
                break
        if not found:
            i += 1

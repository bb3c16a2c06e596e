"""Detectors for identity numbers written as digits: NIK, KK, NPWP, phone, bank account, BPJS, PLN.

One pass finds every *digit run*: digit groups joined by single separators (space, dot, dash),
e.g. "3171 0102 9001 0003", "317101.029001.0003", "+62 812-3456-7890". Groups joined by a dot or
dash stay together (a "chunk"); chunks joined by a plain space may be two numbers side by side, so
the run is cut, left to right, into windows of whole chunks, keeping the best-classified one
(highest score, then longest). A window is classified by its digit count, its prefix (08 mobile,
000 BPJS, a real PPKK region code) and the nearest context word (see `context.py`). Prices
("Rp 1.500.000", "200rb"), dates, times, IP addresses and numbers glued to letters (booking
codes) are left alone.
"""

from __future__ import annotations

import re

from .context import context_after, context_before
from .regions import REGION_PREFIXES
from .spans import Span

# Digit run; atomic so a failed trailing check cannot backtrack into a shorter run.
_RUN_RE = re.compile(
    r"(?<![\d.,/#_+\-])(?>\+?\d+(?:(?:\x20?[.\-]\x20?)\d+|\x20\d+)*)(?![\w/]|[.,]\d)"
)
_GROUP_RE = re.compile(r"\d+")
_HINT_RE = re.compile(r"\d(?:[\x20.\-]?\d){7}")
_RUN_CHARS = frozenset("0123456789 .-+")
# Landline with the area code in parentheses: (021) 555-1234, (0274) 512345.
_PAREN_PHONE_RE = re.compile(
    r"\(\x20?0\d{2,3}\x20?\)\x20?\d{3,4}(?:[\x20.\-]?\d{2,5})?(?!\d)"
    r"|\(\x20?\+?62\x20?\)\x20?8\d{2}(?:[\x20.\-]?\d{3,4}){2}(?!\d)"
)

_MONEY_BEFORE_RE = re.compile(r"(?:rp|idr)\.?\s?$")
_UNIT_AFTER_RE = re.compile(
    r"\s?(?:(?:rb|ribu|rbu|k|jt|juta|m|miliar|milyar|rupiah|kali|kwh|km|kg|wib|wita|wit)(?![a-z])|%|,-)"
)
# Amounts, time and year ranges, IP addresses: digits that are never an identity number.
_NOT_ID_RE = re.compile(
    r"\d{1,3}(?:\.\d{3})+|\d{1,2}[.:]\d\d\x20?-\x20?\d{1,2}[.:]\d\d|\d{1,3}(?:\.\d{1,3}){3}"
    r"|(?:19|20)\d\d\x20?-\x20?(?:19|20)\d\d"
)
# A chunk that is a time of day or an amount splits a run: "pukul 05.05 09.00 11.10".
_SPLITTER_RE = re.compile(r"(?:[01]?\d|2[0-4])[.:][0-5]\d|\d{1,3}(?:\.\d{3})+")
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
    money_like = _NOT_ID_RE.fullmatch(raw) is not None or _DATE_RE.fullmatch(raw) is not None
    if ctx == "bank" and 8 <= n <= 16 and not money_like and not (mobile and ctx_after):
        return "BANK_ACCOUNT", 0.8 if ctx_after else 0.9
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
    if "(" in scan:
        for m in _PAREN_PHONE_RE.finditer(scan):
            spans.append(Span("PHONE", m.start(), m.end(), 0.9))
    hint = _HINT_RE.search(scan)
    if hint is None:
        return spans  # no eight digits close together: nothing below can match
    pos = hint.start()  # runs before the first hint have fewer than eight digits
    while pos > 0 and scan[pos - 1] in _RUN_CHARS:
        pos -= 1
    runs: list[tuple[int, int, list[list[tuple[int, int]]], list[int]]] = []
    for m in _RUN_RE.finditer(scan, pos):
        start, end = m.span()
        if end - start < _MIN_DIGITS:
            continue
        raw = m.group()
        if not _glued_ok(scan, start):
            continue
        chunks: list[list[tuple[int, int]]]
        if raw.isdigit():  # the common case: one group of digits
            chunks = [[(start, end)]]
        else:
            groups = [(g.start() + start, g.end() + start) for g in _GROUP_RE.finditer(raw)]
            if sum(e - s for s, e in groups) < _MIN_DIGITS:
                continue
            # chunks: groups joined by "." or "-" stay together; a plain space may split numbers
            chunks = [[groups[0]]]
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
        if len(chunks) > 1:
            pieces: list[list[list[tuple[int, int]]]] = [[]]
            for c in chunks:
                if _SPLITTER_RE.fullmatch(scan, c[0][0], c[-1][1]):
                    pieces.append([])
                else:
                    pieces[-1].append(c)
        else:
            pieces = [chunks]
        for piece in pieces:
            if not piece:
                continue
            pstart = start if (raw[0] == "+" and piece[0] is chunks[0]) else piece[0][0][0]
            sizes = [sum(e - s for s, e in c) for c in piece]
            total = sum(sizes)
            if total < _MIN_DIGITS:
                continue
            if total > _MAX_WINDOW_DIGITS and len(piece) > 1 and len(set(sizes)) == 1:
                continue  # a long uniformly grouped code (PLN token, card serial): not personal
            runs.append((pstart, piece[-1][-1][1], piece, sizes))
    for k, (start, _end, chunks, sizes) in enumerate(runs):
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
    """Cut one run into the best-classified windows of whole chunks, left to right.

    From each chunk, every window that ends on a chunk is classified; the highest score wins,
    then the longest. A context-free guess over several space-separated chunks needs chunks of
    three digits or more ("0812 3456 7890" yes, "edisi 19 1102604 26041944" no).
    """
    i = 0
    nchunks = len(chunks)
    while i < nchunks:
        best: tuple[float, int, int, str, int] | None = None  # score, digits, j, type, end
        before: tuple[str | None, int] | None = None
        for j in range(nchunks, i, -1):
            ndig = sum(sizes[i:j])
            if ndig > _MAX_WINDOW_DIGITS + 2 or ndig < _MIN_DIGITS:
                continue
            ws = run_start if (i == 0 and plus) else chunks[i][0][0]
            we = chunks[j - 1][-1][1]
            digits = "".join(scan[s:e] for c in chunks[i:j] for s, e in c)
            if before is None:
                before = context_before(lower, ws, lo)
            after = context_after(lower, we, hi, before[1])
            ctx, ctx_after = (after, True) if after is not None else (before[0], False)
            got = _classify(digits, scan[ws:we].lstrip("+"), ctx, ctx_after, plus and i == 0)
            if got is None:
                continue
            if j - i > 1 and got[1] < 0.85 and min(sizes[i:j]) < 3:
                continue
            if got[0] == "NPWP" and got[1] < 0.9 and j - i > 1:
                continue  # a bare 15-digit NPWP is written in one piece
            if got[0] == "PHONE" and j - i > 1 and sizes[j - 1] == 1:
                continue  # "0812 3456 7890 2 kali": a trailing single digit is a count
            cand = (got[1], ndig, j, got[0], we)
            if best is None or cand[:2] > best[:2]:
                best = cand
        if best is None:
            i += 1
            continue
        score, _ndig, j, etype, we = best
        ws = run_start if (i == 0 and plus) else chunks[i][0][0]
        out.append(Span(etype, ws, we, score))
        lo = we
        i = j

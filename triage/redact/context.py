"""Context words shared by the detectors, and the scan text they read (URLs and NIPs blanked).

Numbers in Indonesian posts are told apart mostly by the words around them ("NIK", "no rek BCA",
"idpel", "resi"). `nearest_context` returns the category of the closest such word within a short
window before (preferred) or after a candidate.
"""

from __future__ import annotations

import re

# Filler for blanked regions: not a word char, not a space, so no detector matches across it.
BLANK = "\x00"

# Keyword categories, matched on the lower-cased text. Order inside an alternation matters only
# for keywords that share a prefix; the longest sensible form comes first.
_CATEGORIES: dict[str, str] = {
    "npwp": r"npwp",
    "kk": r"(?:no\.?|nomor|nomer)?\s*kartu\s+keluarga|no\.?\s*kk|nokk|kk",
    "nik": r"nomor\s+induk\s+kependudukan|e-?ktp|ktp|nik",
    "bpjs": (
        r"bpjs(?:\s+kesehatan)?|kis|jkn|kartu\s+indonesia\s+sehat"
        r"|(?:no\.?|nomor|nomer)\s*kartu(?!\s+keluarga)|faskes|peserta"
    ),
    "pln": (
        r"id\s?pel(?:anggan)?|idpel|no\.?\s*meter(?:an)?|nomor\s+meter(?:an)?|nomer\s+meter(?:an)?"
        r"|meteran|meter|kwh|pln|token|listrik|pascabayar|prabayar"
    ),
    "bank": (
        r"no\.?\s*rek(?:ening)?|norek|rekening|rek|bank|bca|bri|bni|mandiri|bsi|cimb(?:\s+niaga)?"
        r"|danamon|permata|btn|jago|seabank|bjb|muamalat|ocbc|panin|maybank|bpd|btpn|jenius|blu"
        r"|mega|uob|bukopin|sinarmas"
    ),
    "pay": r"a\.n\.?|an\.|a/n|atas\s+nama|transfer(?:\s+ke)?|tf|trf|kirim\s+ke",
    "phone": (
        r"whatsapp|wa|no\.?\s*hp|nohp|hp|telp|telpon|telepon|tlp|ponsel|hubungi|sms|call|kontak"
        r"|dana|ovo|gopay|shopeepay|linkaja|cs"
    ),
    "neg": (
        r"resi|order|pesanan|invoice|inv|transaksi|trx|laporan|tiket|booking|kode|antrian|nip"
        r"|ref|referensi|tracking|pengaduan|pembayaran|billing|va|virtual\s+account|voucher|promo|serial|imei|sn"
    ),
}

_CONTEXT_RE = re.compile(
    "|".join(
        rf"(?P<{name}>(?<![a-z0-9_@])(?:{pat})(?![a-z0-9_]))" for name, pat in _CATEGORIES.items()
    )
)

WINDOW_BEFORE = 48
WINDOW_AFTER = 24


def nearest_context(
    lower: str, start: int, end: int, lo: int = 0, hi: int | None = None
) -> tuple[str | None, bool]:
    """(category, found after) of the keyword closest to lower[start:end].

    Before wins ties; a keyword after the candidate counts 4 characters further away.

    `lo` / `hi` bound the search (the end of the previous number, the start of the next one), so a
    keyword that belongs to a neighbouring number does not leak onto this one.
    """
    best: str | None = None
    after = False
    best_dist = 1 << 30
    for m in _CONTEXT_RE.finditer(lower, max(lo, start - WINDOW_BEFORE), start):
        dist = start - m.end()
        if dist <= best_dist:
            best, best_dist = m.lastgroup, dist
    stop = min(len(lower) if hi is None else hi, end + WINDOW_AFTER)
    for m in _CONTEXT_RE.finditer(lower, end, stop):
        dist = m.start() - end + 4
        if dist < best_dist:
            best, best_dist, after = m.lastgroup, dist, True
        break
    return best, after


def context_before(lower: str, start: int, window: int = WINDOW_BEFORE) -> set[str]:
    """All keyword categories within `window` characters before `start`."""
    return {m.lastgroup or "" for m in _CONTEXT_RE.finditer(lower, max(0, start - window), start)}


# URLs: http(s)://..., www...., and bare domain links with a path (x.com/pln_123/status/1...).
URL_RE = re.compile(
    r"(?i)(?:https?://|www\.)\S+"
    r"|(?<![\w@.])(?:[a-z0-9-]+\.)+(?:com|id|net|org|co|ly|me|io|app|link|gl|gg)(?:\.[a-z]{2})?/\S*"
)

# ASN employee number (NIP): birth date YYYYMMDD, appointment YYYYMM, sex 1/2, serial. Not redacted
# (it identifies an officer acting in office); blanked so no detector reads a NIK or NPWP in it.
NIP_RE = re.compile(
    r"(?<![\d.-])(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\x20?"
    r"(?:19|20)\d\d(?:0[1-9]|1[0-2])\x20?[12]\x20?\d{3}(?![\d])"
)

_HAS_URL_HINT = re.compile(r"(?i)https?:|www\.|\.[a-z]{2,4}/")


def scan_text(text: str) -> str:
    """`text` with URLs and NIPs replaced by BLANK characters, same length, same offsets."""
    blanks: list[tuple[int, int]] = []
    if _HAS_URL_HINT.search(text):
        blanks.extend(m.span() for m in URL_RE.finditer(text))
    if len(text) >= 18:
        blanks.extend(m.span() for m in NIP_RE.finditer(text))
    if not blanks:
        return text
    chars = list(text)
    for s, e in blanks:
        chars[s:e] = BLANK * (e - s)
    return "".join(chars)

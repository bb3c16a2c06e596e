"""Context words shared by the detectors, and the scan text they read (URLs and NIPs blanked).

Numbers in Indonesian posts are told apart mostly by the words around them ("NIK", "no rek BCA",
"idpel", "resi"). `nearest_context` returns the category of the closest such word within a short
window before (preferred) or after a candidate.
"""

from __future__ import annotations

import re

# Filler for blanked regions: not a word char, not a space, so no detector matches across it.
BLANK = "\x00"

# Context words by category, matched as whole tokens of the lower-cased text.
_WORDS: dict[str, str] = {}
for _cat, _words in {
    "npwp": "npwp",
    "kk": "kk nokk",
    "nik": "nik ktp ektp e-ktp kependudukan",
    "bpjs": "bpjs kis jkn faskes peserta",
    "pln": "idpel meter meteran kwh pln token listrik pascabayar prabayar",
    "bank": (
        "rek rekening norek bank bca bri bni mandiri bsi cimb danamon permata btn jago seabank"
        " bjb muamalat ocbc panin maybank bpd btpn jenius blu mega uob bukopin sinarmas"
    ),
    "pay": "a.n. a.n a/n an. transfer tf trf",
    "phone": (
        "whatsapp wa nohp hp telp telpon telepon tlp ponsel hubungi sms call kontak dana ovo"
        " gopay shopeepay linkaja cs"
    ),
    "neg": (
        "resi order pesanan invoice inv transaksi trx laporan tiket booking kode antrian nip ref"
        " referensi tracking pengaduan pembayaran billing va voucher promo serial imei sn"
    ),
}.items():
    _WORDS.update(dict.fromkeys(_words.split(), _cat))

# Two-word phrases: (previous token, token) -> category; they win over the single word.
_PAIRS: dict[tuple[str, str], str] = {
    ("kartu", "keluarga"): "kk",
    ("id", "pel"): "pln",
    ("id", "pelanggan"): "pln",
    ("atas", "nama"): "pay",
    ("kirim", "ke"): "pay",
    ("no", "kartu"): "bpjs",
    ("nomor", "kartu"): "bpjs",
    ("nomer", "kartu"): "bpjs",
    ("indonesia", "sehat"): "bpjs",
    ("nomor", "induk"): "nik",
    ("virtual", "account"): "neg",
}
# Tokens that can start or end a context word or phrase; anything else is skipped at once.
_INTERESTING = frozenset(_WORDS) | {w for pair in _PAIRS for w in pair}
_TOKEN_RE = re.compile(r"a\.n\.?|a/n|an\.|e-ktp|[a-z0-9_@]+")

WINDOW_BEFORE = 48
WINDOW_AFTER = 24


def _category(prev: str | None, tok: str, nxt: str | None) -> str | None:
    if tok == "kartu" and nxt == "keluarga":
        return "kk"
    if prev is not None:
        pair = _PAIRS.get((prev, tok))
        if pair is not None:
            return pair
    if tok[0] == "@" or "_" in tok:
        return None  # a handle (@pln_123) names an agency, not a number
    return _WORDS.get(tok)


def context_before(lower: str, start: int, lo: int = 0) -> tuple[str | None, int]:
    """(category, distance) of the context word closest before `start`, not looking past `lo`."""
    before = list(_TOKEN_RE.finditer(lower, max(lo, start - WINDOW_BEFORE), start))
    for k in range(len(before) - 1, -1, -1):
        m = before[k]
        tok = m.group()
        if tok not in _INTERESTING:
            continue
        prev = before[k - 1].group() if k else None
        nxt = before[k + 1].group() if k + 1 < len(before) else None
        cat = _category(prev, tok, nxt)
        if cat is not None:
            return cat, start - m.end()
    return None, 1 << 30


def context_after(lower: str, end: int, hi: int | None, best_dist: int) -> str | None:
    """Category of a context word after `end` that is nearer than `best_dist` (+4), or None."""
    stop = min(len(lower) if hi is None else hi, end + WINDOW_AFTER, end + best_dist - 4)
    if stop <= end:
        return None
    after = list(_TOKEN_RE.finditer(lower, end, stop))
    for k, m in enumerate(after):
        tok = m.group()
        if tok not in _INTERESTING:
            continue
        prev = after[k - 1].group() if k else None
        nxt = after[k + 1].group() if k + 1 < len(after) else None
        cat = _category(prev, tok, nxt)
        if cat is not None:
            return cat
    return None


def nearest_context(
    lower: str, start: int, end: int, lo: int = 0, hi: int | None = None
) -> tuple[str | None, bool]:
    """(category, found after) of the context word closest to lower[start:end].

    Looks back up to WINDOW_BEFORE characters (not past `lo`, the end of the previous number) and
    ahead up to WINDOW_AFTER (not past `hi`). Before wins ties; a word after counts 4 characters
    further away, so "NIK 3171... KK 3171..." gives each number its own word.
    """
    cat, dist = context_before(lower, start, lo)
    after = context_after(lower, end, hi, dist)
    if after is not None:
        return after, True
    return cat, False


# URLs: http(s)://..., www...., and bare domain links with a path (x.com/pln_123/status/1...).
URL_RE = re.compile(  # "www." glued to "@" or a word is an e-mail's domain, not a URL (a0@www.com)
    r"(?i)https?://\S+|(?<![\w@.])www\.\S+"
    r"|(?<![\w@.])(?:[a-z0-9-]+\.)+(?:com|id|net|org|co|ly|me|io|app|link|gl|gg)(?:\.[a-z]{2})?/\S*"
)

# ASN employee number (NIP): birth date YYYYMMDD, appointment YYYYMM, sex 1/2, serial. Not redacted
# (it identifies an officer acting in office); blanked so no detector reads a NIK or NPWP in it.
NIP_RE = re.compile(
    r"(?<![\d.-])(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\x20?"
    r"(?:19|20)\d\d(?:0[1-9]|1[0-2])\x20?[12]\x20?\d{3}(?![\d])"
)

_URL_HINT_RE = re.compile(r"(?i)www\.|\.(?:com|id|net|org|co|ly|me|io|app|link|gl|gg)\b")
_NIP_HINT_RE = re.compile(r"\d{8}\x20?(?:19|20)\d{4}\x20?[12]")


def scan_text(text: str) -> str:
    """`text` with URLs and NIPs replaced by BLANK characters, same length, same offsets."""
    blanks: list[tuple[int, int]] = []
    if "://" in text or _URL_HINT_RE.search(text):
        blanks.extend(m.span() for m in URL_RE.finditer(text))
    if len(text) >= 18 and _NIP_HINT_RE.search(text):
        blanks.extend(m.span() for m in NIP_RE.finditer(text))
    if not blanks:
        return text
    chars = list(text)
    for s, e in blanks:
        chars[s:e] = BLANK * (e - s)
    return "".join(chars)

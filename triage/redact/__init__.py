"""Privacy redaction for Indonesian posts: detect personal data as spans, then apply operators.

    >>> from triage.redact import redact
    >>> redact("NIK saya 3171014509900003, wa 0812-3456-7890 @budi_s").text
    'NIK saya [NIK], wa [PHONE] [USERNAME]'

`detect(text)` returns sorted, non-overlapping `Span(type, start, end, score)` with offsets into
the original text; `apply_policy(text, spans, policy)` returns a new `Redacted(text, entities)`;
`redact` does both. The input is never changed. Pure: stdlib and `re` only, no I/O.

What is redacted (ENTITY_TYPES): NIK, NO_KK, NPWP, PHONE, EMAIL, BANK_ACCOUNT, BPJS_NUMBER,
PLN_ID, VEHICLE_PLATE, ADDRESS, PERSON, USERNAME; each replaced by "[TYPE]" under the default
policy ("mask", "hash" with a keyed HMAC, and "drop" are the other operators).

What it does NOT redact (limits):

- Numbers the text does not mark. A bank account is found only near a bank word (rek, rekening,
  norek, a.n., transfer ke, BCA, BRI, Mandiri, ...); an IDPEL or meter number only near idpel,
  id pelanggan, meter, token, PLN; a 13-digit BPJS number only near bpjs/kis/jkn/no kartu unless it
  starts with 000. A 16-digit number whose first four digits are not a real province + regency
  code is a NIK/KK only when the text says nik/ktp/kk. A number right after resi, order, pesanan,
  invoice, transaksi, pembayaran, laporan, tiket, kode, antrian is taken to be that (not personal)
  unless it has a phone prefix or an area code written apart.
- NIP (18-digit ASN employee numbers), on purpose: it names an officer acting in office, which is
  what a maladministration complaint is about. Also kept: PLN prepaid tokens (20 digits) and other
  codes grouped uniformly beyond 18 digits, prices (Rp 1.500.000, 200rb, 1,5 jt), dates, times and
  time ranges, years, percentages, IP addresses, booking codes (ABC1234, KJ8PQ2), queue and train
  numbers (antrian A-023, KA 123, KRL 1234), LAPOR! tracking numbers (#1234567, 2511-8890).
- Anything inside a URL (post ids, handles in x.com/... links), except the phone number of a
  wa.me / api.whatsapp.com link.
- Public contact points look like private ones: an agency's phone number, e-mail address or office
  street address is redacted like a person's (over-redaction, not a leak).
- Names without a marker. A name is redacted after "nama saya", a form field ("nama:",
  "pelapor:"), "atas nama", "a.n.", "namanya", "bernama", "saya X" opening an introduction, a
  relative with a possessive ("ibu saya X"), a neighbourhood head ("pak RT X") and "Kak X". An
  honorific with a name alone ("Bu Risma", "Pak Jokowi", "Pak Budi") is kept: the text cannot tell
  a public figure from a private person. Offices ("Pak Menteri") and agency names are never names.
  Names in lower case are found only after "nama saya" or a form field; in Title Case headlines
  and shouted (ALL CAPS) text only the explicit markers count.
- Places that are not a dwelling: a road without a house number ("Jl. Sudirman macet", "Tol
  Cipularang KM 92"), an office ("kantor Kecamatan Cilandak"), a village, district or RW named
  without a residence marker ("warga Desa Sukamaju", "posyandu RW 05"), and city, regency and
  province names (kept for region routing).
- Handles of agencies passed in `protected_handles` (compared case-insensitively; each protects
  only that exact handle); nothing inside them is redacted.
- Plates that are glued ("B1234XYZ"), lack suffix letters or are typed in lower case are found
  only near a vehicle word (plat, nopol, motor, mobil, tilang, ...); foreign, military and
  diplomatic plates are not known.
- Personal data spelled in words ("nol delapan satu dua ..."), split across lines, glued to
  unrelated letters, in other languages' formats, or in images is not seen.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from .address import detect_addresses
from .context import scan_text
from .handles import detect_emails, detect_usernames, detect_wa_links, handle_spans
from .keywords import find_keywords
from .numbers import detect_numbers
from .operators import (
    DEFAULT_POLICY,
    OPERATORS,
    RedactionError,
    RedactionKeyError,
    RedactionPolicy,
    RedactionPolicyError,
)
from .persons import detect_persons
from .plates import detect_plates
from .spans import ENTITY_TYPES, Redacted, Span, resolve_overlaps

__all__ = [
    "DEFAULT_POLICY",
    "ENTITY_TYPES",
    "OPERATORS",
    "Redacted",
    "RedactionError",
    "RedactionKeyError",
    "RedactionPolicy",
    "RedactionPolicyError",
    "Span",
    "apply_policy",
    "detect",
    "redact",
]

_DIGIT_RE = re.compile(r"\d")
_KNOWN_TYPES = frozenset(ENTITY_TYPES)


def _lower_same_length(scan: str) -> str:
    lower = scan.lower()
    if len(lower) == len(scan):
        return lower
    # a few code points (e.g. "İ") lower-case to two; keep offsets aligned
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in scan)


@lru_cache(maxsize=64)
def _normalise_handles(handles: frozenset[str]) -> frozenset[str]:
    return frozenset(h.lower().lstrip("@") for h in handles)


def detect(text: str, *, protected_handles: frozenset[str] = frozenset()) -> list[Span]:
    """Personal data in `text` as sorted, non-overlapping spans (offsets into `text`).

    `protected_handles`: lower-case X handles of agencies without "@"; never redacted, and nothing
    is detected inside them. Every other @handle is a private person's USERNAME.
    """
    if not text:
        return []
    scan = scan_text(text)
    lower = _lower_same_length(scan)
    spans: list[Span] = []
    kw = find_keywords(lower)
    if _DIGIT_RE.search(scan) is not None:
        spans.extend(detect_numbers(scan, lower))
        spans.extend(detect_plates(scan, lower, kw.vehicle))
    if "wa.me" in text or "hatsapp" in text:
        spans.extend(detect_wa_links(text, text.lower()))
    kept: list[tuple[int, int]] = []
    handles = handle_spans(scan)
    if handles:
        protected = _normalise_handles(
            protected_handles
            if isinstance(protected_handles, frozenset)
            else frozenset(protected_handles)
        )
        spans.extend(detect_usernames(handles, protected))
        kept = [(s, e) for s, e, name in handles if name in protected]
    if "@" in scan:
        spans.extend(detect_emails(scan))
    if kw.address:
        spans.extend(detect_addresses(scan, lower, kw.address))
    if kw.person:
        spans.extend(detect_persons(scan, lower, kw.person))
    if kept:  # an agency's handle stays whole, whatever a detector saw in it
        spans = [sp for sp in spans if not any(sp.start < e and s < sp.end for s, e in kept)]
    return resolve_overlaps(spans)


def apply_policy(
    text: str, spans: Sequence[Span], policy: RedactionPolicy = DEFAULT_POLICY
) -> Redacted:
    """A new `Redacted`: each span replaced by its type's operator; overlapping spans resolved."""
    n = len(text)
    for span in spans:
        if span.type not in _KNOWN_TYPES:
            raise RedactionError(f"unknown entity type {span.type!r}")
        if not 0 <= span.start < span.end <= n:
            raise RedactionError(
                f"span {span.type} [{span.start}:{span.end}] is outside the text (length {n})"
            )
    return _apply(text, resolve_overlaps(spans), policy)


def _apply(text: str, applied: list[Span], policy: RedactionPolicy) -> Redacted:
    """Apply `policy` to sorted, non-overlapping, in-bounds spans."""
    if not applied:
        return Redacted(text, ())
    policy.check({s.type for s in applied})
    operators = policy.operators
    parts: list[str] = []
    pos = 0
    for span in applied:
        parts.append(text[pos : span.start])
        op = OPERATORS[operators.get(span.type, "replace")]
        parts.append(op(text[span.start : span.end], span, policy))
        pos = span.end
    parts.append(text[pos:])
    return Redacted("".join(parts), tuple(applied))


def redact(
    text: str,
    *,
    protected_handles: frozenset[str] = frozenset(),
    policy: RedactionPolicy = DEFAULT_POLICY,
) -> Redacted:
    """Detect personal data in `text` and apply `policy`; see the module docstring for limits."""
    return _apply(text, detect(text, protected_handles=protected_handles), policy)

"""Detector for street addresses: a phrase of address parts that reaches house level.

Parts: street (Jl./Jln./Jalan/Lorong + name), alley (Gg./Gang + name), estate (Komplek/Perum/
Cluster/Rusun/Apartemen + name), house number (No. 12, 12A, a number right after a capitalised
street name, Kav. 5), block (Blok C2, Blok F/12), RT/RW (RT 03/RW 05, RT.003 RW.005, RT/RW 03/05),
area (Kel./Kelurahan/Desa/Dusun/Kp./Kec. + name), a kilometre mark and a postal code. The phrase
runs over parts joined by spaces, commas or slashes and ends at a sentence boundary or at the
first word that is not part of an address.

A phrase counts as an address when it reaches a dwelling: RT and RW; an RT or RW with another
part; a street, alley or estate with a house number or block; a capitalised alley name; or, after
a residence marker ("alamat", "tinggal di", "rumah saya di"), any named part. So "Jl. Sudirman
macet" and "Tol Cipularang KM 92" (public roads), "kantor Kecamatan Cilandak" (an office),
"posyandu RW 05" and a bare city name are not redacted; "Kota"/"Kabupaten" and a city after a comma
are kept, because agency and region routing needs them. An office's own street address with a
house number looks like anyone's and is redacted too.
"""

from __future__ import annotations

import re

from .spans import Span

_ANCHOR_RE = re.compile(
    r"(?<![\w@/])(?:jalan|jln|jl|lorong|lr|gang|gg|komplek|kompleks|komp|perumahan|perum"
    r"|cluster|asrama|apartemen|apartment|apt|rusunawa|rusunami|rusun|kelurahan|kel|desa|ds"
    r"|dusun|dsn|kampung|kp|kecamatan|kec|rt|rw|blok|blk)(?![a-z])"
)

_KW_KIND = {
    **dict.fromkeys(("jalan", "jln", "jl", "lorong", "lr"), "street"),
    **dict.fromkeys(("gang", "gg"), "gang"),
    **dict.fromkeys(
        (
            "komplek", "kompleks", "komp", "perumahan", "perum", "cluster", "asrama",
            "apartemen", "apartment", "apt", "rusunawa", "rusunami", "rusun",
        ),
        "estate",
    ),
    **dict.fromkeys(
        ("kelurahan", "kel", "desa", "ds", "dusun", "dsn", "kampung", "kp", "kecamatan", "kec"),
        "area",
    ),
}

_PART_RE = re.compile(
    r"(?P<rtrw>(?:rt|rw)(?:\x20?/\x20?rw)?\.?\x20?:?\x20?\d{1,3}"
    r"(?:\x20?[/,.\-]?\x20?(?:rw\.?\x20?:?\x20?)?\d{1,3})?(?![\w/]))"
    r"|(?P<num>(?:no|nomor|nomer|nmr)\.?\x20?:?\x20?\d{1,4}[a-z]?(?:\x20?[/\-]\x20?\d{1,4}[a-z]?)?"
    r"(?!\w)|(?:kav|kavling)\.?\x20?\d{1,3}(?!\w))"
    r"|(?P<km>km\.?\x20?\d{1,3}(?:[.,]\d{1,3})?(?!\w))"
    r"|(?P<blok>(?:blok|blk)\.?\x20?(?:[a-z]{1,2}\x20?-?\x20?\d{0,3}|\d{1,3})[a-z]?"
    r"(?:\x20?[/\-]\x20?\d{1,3})?(?!\w))"
    r"|(?P<kw>(?:jalan|jln|jl|lorong|lr|gang|gg|komplek|kompleks|komp|perumahan|perum|cluster"
    r"|asrama|apartemen|apartment|apt|rusunawa|rusunami|rusun|kelurahan|kel|desa|ds|dusun|dsn"
    r"|kampung|kp|kecamatan|kec)(?![a-z])(?:(?<=jl|ln|gg|el|ec|mp|um|ds|sn|kp|lr|pt|lk)\.)?)"
)
_SEP_RE = re.compile(r"[\x20\t]*(?:[,/;]|-(?=\x20))?[\x20\t]*")
_WORD_RE = re.compile(r"[\x20\t]*([^\s,;:!?()\[\]\"/]+)")
_BARE_NUM_RE = re.compile(r"[\x20\t]*(\d{1,4}[A-Za-z]?)(?![\w.,]\d|\w)")
_POSTAL_RE = re.compile(r"[\x20\t]*(\d{5})(?!\w)")
_ROMAN_RE = re.compile(r"[IVX]{1,4}")
_DIGITS_RE = re.compile(r"\d+")
_RESIDENCE_RE = re.compile(
    r"(?<![a-z])(?:alamat|tinggal|domisili|kediaman|(?:rumah|kos|kost|kosan|kontrakan)"
    r"(?:\x20+(?:saya|kami|aku|gue|gw|kita|ortu|orang\x20+tua|ibu|bapak)|ku)(?![a-z]))"
    r"[^.!?\n]{0,30}$"
)

# Words that end a name inside an address (function words, region words kept for routing).
_NAME_STOP = frozenset(
    """di ke dari yang yg dan atau sudah udah sdh belum blm tidak tdk gak ga nggak ngga enggak ada
    untuk utk buat sama dengan dgn karena krn tapi tp juga jg sejak selama sampai sampe mau bisa
    harus masih lagi lg ini itu tsb sini situ sana depan belakang dekat deket sebelah samping arah
    menuju saya aku kami kita gue gw mohon tolong pak bu bapak ibu sekitar tepatnya persis kota
    kab kabupaten provinsi prov no nomor rt rw blok hp wa telp rusak mati padam banjir macet
    sering selalu setiap tiap hari kemarin tadi pagi siang sore malam jam""".split()
)
_ABBREV = frozenset("dr ir h hj k.h kh st prof jend kol let mayjen brigjen r m moh muh".split())
_MAX_NAME_WORDS = 3


def _block_value_ok(part: str) -> bool:
    """ "Blok C2", "Blok 7", "Blok F/12", "Blok B" yes; "blok di" (a word) no."""
    value = part[4:].strip(" .") if part[:4].lower() == "blok" else part[3:].strip(" .")
    return any(c.isdigit() for c in value) or (len(value) == 1 and value.isupper())


def _name(scan: str, lower: str, pos: int) -> tuple[int, bool, bool]:
    """End of the name after a keyword, whether it is capitalised, whether a sentence ended."""
    end, capital, words = pos, False, 0
    while words < 4:
        m = _WORD_RE.match(scan, end)
        if m is None:
            break
        word = m.group(1)
        stop_after = False
        if word.endswith(".") and word[:-1].lower() not in _ABBREV and "." not in word[:-1]:
            word, stop_after = word[:-1], True
        if not word or _PART_RE.match(lower, m.start(1)) is not None:
            break
        low = word.lower()
        if low in _NAME_STOP or not (word[0].isalnum()):
            break
        if low.rstrip(".") in _ABBREV:
            pass  # "H.", "Dr." inside a street name
        elif word[0].isupper() or _ROMAN_RE.fullmatch(word):
            if words == 0:  # "Gg. Mawar" yes; "GANG AJA" (shouting) no
                capital = not (word.isupper() and len(word) > 1)
        elif word.isdigit():
            if words == 0:
                break
        elif words >= _MAX_NAME_WORDS or not word.isalpha() or capital:
            break
        end = m.start(1) + len(word)
        words += 1
        if stop_after:
            return end, capital, True
    return end, capital, False


def _parse(scan: str, lower: str, pos: int) -> tuple[int, int, set[str], bool, bool]:
    """Parse address parts from `pos`.

    Returns (start, end, kinds of parts seen, a street/alley/estate name is capitalised, any name
    is capitalised).
    """
    start, end = pos, pos
    kinds: set[str] = set()
    capital = any_capital = False
    last_was_name = False
    cur = pos
    while True:
        m = _PART_RE.match(lower, cur)
        if m is not None and m.lastgroup == "blok" and not _block_value_ok(scan[m.start() : m.end()]):
            m = None
        if m is not None:
            group = m.lastgroup or ""
            if group == "kw":
                kind = _KW_KIND[m.group().rstrip(".")]
                name_end, cap, sentence_end = _name(scan, lower, m.end())
                if name_end == m.end():
                    break
                kinds.add(kind)
                any_capital = any_capital or cap
                capital = capital or (cap and kind in ("street", "gang", "estate"))
                end = name_end
                last_was_name = kind in ("street", "gang", "estate")
                if sentence_end:
                    break
            else:
                if group == "rtrw":
                    text = m.group()
                    both = ("rt" in text and "rw" in text) or len(_DIGITS_RE.findall(text)) > 1
                    group = "rtrw2" if both else "rtrw1"
                kinds.add(group)
                end = m.end()
                last_was_name = False
        elif last_was_name and capital and cur > end and scan[end:cur].isspace() and (
            b := _BARE_NUM_RE.match(scan, cur)
        ) is not None:
            kinds.add("num")  # "Jl. Mawar 12"
            end = b.end(1)
            last_was_name = False
        elif kinds and (p := _POSTAL_RE.match(scan, cur)) is not None:
            end = p.end(1)
            last_was_name = False
        else:
            break
        sep = _SEP_RE.match(scan, end)
        cur = sep.end() if sep is not None else end
        if cur >= len(scan):
            break
    return start, end, kinds, capital, any_capital


def _is_address(kinds: set[str], capital: bool, any_capital: bool, residence: bool) -> bool:
    """House level: RT and RW, a house number or block on a street, a named alley, or a
    residence marker ("alamat", "tinggal di", "rumah saya di") before a named place."""
    if "rtrw2" in kinds:
        return True
    dwelling = kinds & {"street", "gang", "estate"}
    if "rtrw1" in kinds and (dwelling or "area" in kinds or "num" in kinds or residence):
        return True
    house = "num" in kinds or "blok" in kinds
    if house and dwelling:
        return True
    if "gang" in kinds and capital:
        return True
    return residence and (any_capital or house) and bool(kinds - {"km"})


def detect_addresses(scan: str, lower: str, anchors: list[int] | None = None) -> list[Span]:
    """ADDRESS spans; keywords are matched on `lower` (same offsets), names read from `scan`.

    `anchors`: offsets of anchor words (from `keywords.find_keywords`); found here when None.
    """
    spans: list[Span] = []
    covered = -1
    if anchors is None:
        anchors = [m.start() for m in _ANCHOR_RE.finditer(lower)]
    for pos in anchors:
        if pos < covered:
            continue
        start, end, kinds, capital, any_capital = _parse(scan, lower, pos)
        if end <= start:
            continue
        residence = _RESIDENCE_RE.search(lower, max(0, start - 40), start) is not None
        if _is_address(kinds, capital, any_capital, residence):
            score = 0.9 if kinds & {"rtrw1", "rtrw2", "num", "blok"} else 0.8
            spans.append(Span("ADDRESS", start, end, score))
            covered = end
    return spans

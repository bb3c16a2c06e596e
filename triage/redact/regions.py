"""Indonesian region codes: the first four digits of NIK / KK numbers, and vehicle plate prefixes.

A NIK or KK number starts with PPKK: PP the province (Kemendagri code), KK the regency (kabupaten,
numbered 01, 02, ...) or city (kota, numbered 71, 72, ...). We keep, per province, the highest
kabupaten and kota numbers in use (including historic codes that residents registered before a
province split still carry, e.g. Papua 91.01-91.36, Kaltim 64.xx for today's Kaltara), so the
check is compact and errs on the side of accepting a real-looking code.
"""

from __future__ import annotations

# province code -> (name, highest kabupaten number, highest kota number or 70 when none)
PROVINCES: dict[int, tuple[str, int, int]] = {
    11: ("Aceh", 18, 75),
    12: ("Sumatera Utara", 25, 78),
    13: ("Sumatera Barat", 12, 77),
    14: ("Riau", 10, 73),
    15: ("Jambi", 9, 72),
    16: ("Sumatera Selatan", 13, 74),
    17: ("Bengkulu", 9, 71),
    18: ("Lampung", 13, 72),
    19: ("Kepulauan Bangka Belitung", 6, 71),
    21: ("Kepulauan Riau", 6, 72),
    31: ("DKI Jakarta", 1, 75),
    32: ("Jawa Barat", 18, 79),
    33: ("Jawa Tengah", 29, 76),
    34: ("DI Yogyakarta", 4, 71),
    35: ("Jawa Timur", 29, 79),
    36: ("Banten", 4, 74),
    51: ("Bali", 8, 71),
    52: ("Nusa Tenggara Barat", 8, 72),
    53: ("Nusa Tenggara Timur", 21, 71),
    61: ("Kalimantan Barat", 12, 72),
    62: ("Kalimantan Tengah", 13, 71),
    63: ("Kalimantan Selatan", 11, 72),
    64: ("Kalimantan Timur", 11, 74),
    65: ("Kalimantan Utara", 4, 71),
    71: ("Sulawesi Utara", 11, 74),
    72: ("Sulawesi Tengah", 13, 71),
    73: ("Sulawesi Selatan", 26, 73),
    74: ("Sulawesi Tenggara", 15, 72),
    75: ("Gorontalo", 5, 71),
    76: ("Sulawesi Barat", 6, 70),
    81: ("Maluku", 9, 72),
    82: ("Maluku Utara", 8, 72),
    91: ("Papua", 36, 71),
    92: ("Papua Barat", 12, 71),
    93: ("Papua Selatan", 4, 70),
    94: ("Papua Tengah", 8, 70),
    95: ("Papua Pegunungan", 8, 70),
    96: ("Papua Barat Daya", 6, 71),
}

PROVINCE_CODES: frozenset[int] = frozenset(PROVINCES)


def _build_region_prefixes() -> frozenset[str]:
    out: set[str] = set()
    for prov, (_name, kab_max, kota_max) in PROVINCES.items():
        for reg in range(1, kab_max + 1):
            out.add(f"{prov:02d}{reg:02d}")
        for reg in range(71, kota_max + 1):
            out.add(f"{prov:02d}{reg:02d}")
    return frozenset(out)


# Every valid 4-digit PPKK prefix (about 600 strings): one set lookup per candidate number.
REGION_PREFIXES: frozenset[str] = _build_region_prefixes()


def is_region_prefix(digits: str) -> bool:
    """True when `digits` starts with a real province code and a plausible regency/city code."""
    return digits[:4] in REGION_PREFIXES


# Vehicle registration prefixes (kode wilayah TNKB) in use on civilian plates.
PLATE_PREFIXES: frozenset[str] = frozenset(
    """
    A B D E F G H K L M N P R S T W Z
    AA AB AD AE AG
    BA BB BD BE BG BH BK BL BM BN BP
    DA DB DC DD DE DG DH DK DL DM DN DR DS DT
    EA EB ED
    KB KH KT KU
    PA PB
    """.split()
)

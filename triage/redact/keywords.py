"""One pass over the lower-cased text that finds where the word-triggered detectors should look.

Person markers ("nama", "saya", "ibu", "a.n."), address anchors ("jl", "gg", "rt", "perum") and
vehicle words ("motor", "plat") are compiled into a single trie-shaped regular expression, so a
post is scanned once instead of once per detector; each detector then checks its own full pattern
only at the positions found here. This is the cheap pre-check that keeps redaction fast.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import NamedTuple

PERSON_STARTS = """nama namanya bernama atas a.n a.\x20n a/n an. pelapor pemohon pemilik peserta pelanggan
penerima pengirim pengadu pak bu bapak ibu ibuk ketua kak kakak saya aku sy gue gw ayah mama
papa suami istri isteri anak adik adek kakek nenek om tante paman bibi mertua keponakan ponakan
sepupu tetangga teman temen saudara sodara pacar majikan pembantu art abang cucu menantu ipar
rekan""".split()

ADDRESS_ANCHORS = """jalan jln jl lorong lr gang gg komplek kompleks komp perumahan perum cluster
asrama apartemen apartment apt rusunawa rusunami rusun kelurahan kel desa ds dusun dsn kampung kp
kecamatan kec rt rw blok blk""".split()

VEHICLE_WORDS = """plat pelat nopol pol polisi tnkb kendaraan motor mobil truk truck bus bis
angkot taksi taxi ojol ojek pengendara sopir supir driver stnk avanza xenia innova honda yamaha
beat vario nmax pajero fortuner brio ayla agya tilang etle samsat bpkb parkir tabrak nabrak
menabrak""".split()


def trie_pattern(words: list[str]) -> str:
    """A regex matching exactly `words`, factored by common prefixes (much faster than a|b|c)."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        branches = [re.escape(ch) + build(sub) for ch, sub in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


_KEYWORD_RE = re.compile(
    r"(?<![a-z0-9_@/\-])(?:"
    rf"(?P<address>{trie_pattern(ADDRESS_ANCHORS)})(?![a-z_])"
    rf"|(?P<vehicle>{trie_pattern(VEHICLE_WORDS)})(?![a-z_])"
    rf"|(?P<person>{trie_pattern(PERSON_STARTS)})"  # a prefix: "ibuku", "namanya" checked later
    r")"
)


class Keywords(NamedTuple):
    """Start offsets of trigger words in the text, each list sorted."""

    person: list[int]
    address: list[int]
    vehicle: list[int]

    def vehicle_between(self, lo: int, hi: int) -> bool:
        i = bisect_left(self.vehicle, lo)
        return i < len(self.vehicle) and self.vehicle[i] < hi


def find_keywords(lower: str) -> Keywords:
    person: list[int] = []
    address: list[int] = []
    vehicle: list[int] = []
    for m in _KEYWORD_RE.finditer(lower):
        group = m.lastgroup
        if group == "person":
            person.append(m.start())
        elif group == "address":
            address.append(m.start())
        else:
            vehicle.append(m.start())
    return Keywords(person, address, vehicle)

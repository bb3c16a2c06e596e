"""Detector for names of private persons, where the text itself marks a name.

Markers: "nama saya X", "nama: X", "nama lengkap X", "atas nama X", "a.n. X", "an. X", "a/n X",
"namanya X", "bernama X", "saya X" / "aku X" (X capitalised), a relative or neighbour with a
possessive ("ibu saya Sumiati", "anak saya, Rizki", "tetangga saya Pak Darto") and neighbourhood
heads ("pak RT Joko", "Bu RW Sri"). A name is 1-4 capitalised words (initials like "M." allowed;
ALL CAPS after a.n./nama; lower case after "nama saya"/"atas nama"), ending at function words
("di", "dari", "yang", ...), digits or punctuation.

Not redacted on purpose: an honorific with a name and no personal marker ("Bu Risma", "Pak
Jokowi", "Pak Budi"): the text cannot tell a public figure from a private person, and officials
named in their office are what a complaint is about. Offices ("Pak Menteri", "Bu Lurah") and
agency names are never names.
"""

from __future__ import annotations

import re

from .spans import Span

_KIN = (
    r"ibu|ibuk|bapak|ayah|mama|mamah|papa|papah|suami|istri|isteri|anak|adik|adek|kakak|kakek"
    r"|nenek|om|tante|paman|bibi|mertua|keponakan|ponakan|sepupu|tetangga|teman|temen|saudara"
    r"|sodara|pacar|majikan|pembantu|art|abang|cucu|menantu|ipar|rekan"
)
_POSS = r"(?:saya|kami|aku|gue|gw|gua|sy)"
_HONOR = r"(?:bapak|ibu|pak|bu|bpk|ibuk|mas|mbak|mba|kak|bang|dik|adik|om|tante|mbah|alm|almh|almarhum|almarhumah)\.?"

_TRIGGER_RE = re.compile(
    r"(?i)(?<![\w@])(?:"
    rf"(?P<loose>nama\x20+(?:lengkap\x20+)?(?:{_POSS}|pelapor|lengkap|pemilik|peserta|pelanggan)"
    r"(?:\x20+(?:adalah|ialah|yaitu))?\x20*:?|nama\x20*(?:lengkap\x20*)?:|atas\x20+nama"
    r"|a\.\x20?n\.?|a/n|an\.|(?:pelapor|pemohon|penerima|pemilik|korban|pengirim)\x20*:)"
    r"|(?P<named>namanya(?:\x20+adalah)?|bernama|nama(?=\x20+(?-i:[A-Z])))"
    r"|(?P<role>(?:pelapor|pemohon|pengadu|korban|saksi)(?=\x20+(?-i:[A-Z])))"
    rf"|(?P<kin>(?:{_KIN})\x20*(?:{_POSS}|ku|nya)\x20*,?(?:\x20*(?:yaitu|yakni|yang\x20+bernama"
    rf"|bernama|namanya))?(?:\x20+{_HONOR})?)"
    rf"|(?P<rt>(?:pak|bu|bapak|ibu|ketua)\x20+(?:rt|rw)(?:\x20*\d{{1,3}})?(?:\x20+{_HONOR})?)"
    r"|(?P<self>(?<!nama\x20)(?:saya|aku|sy|gue|gw)(?:\x20+(?:adalah|yaitu))?)"
    r")(?=[\x20:,])"
)

_WORD_RE = re.compile(r"[\x20]*,?[\x20]*([A-Za-z][A-Za-z'’\-]*\.?)")

# Words that end a name or show that what follows is not one.
_STOP = frozenset(
    """di dari yang yg dan ke untuk utk dengan dgn sudah udah sdh mau ingin pengen minta mohon
    tolong warga pelanggan nasabah peserta pengguna penumpang pasien sebagai selaku adalah ialah
    yaitu juga jg tidak tdk gak ga nggak ngga enggak belum blm bukan ada punya sedang lagi lg
    masih baru telah akan bisa bs dapat harus perlu cuma hanya sangat sekali banget udh kok sih
    kah lah pun dong deh nih tuh ya iya tapi tp namun karena krn soal tentang atas pada dalam
    oleh bagi agar supaya jika kalau kalo klo saat waktu ketika sejak selama hingga sampai sampe
    setelah sebelum sekarang skrg kemarin kemaren tadi besok hari minggu bulan tahun pagi siang
    sore malam senin selasa rabu kamis jumat sabtu januari februari maret april mei juni juli
    agustus september oktober november desember ini itu tersebut tsb sini situ sana saya aku
    kami kita anda kamu gue gw dia mereka beliau sendiri semua para sering selalu pernah cukup
    kurang lebih paling terlalu merasa kecewa kesal marah bingung heran sudahlah terus trus
    lalu kemudian habis abis pas sama serta maupun atau via lewat by mengadu melapor lapor
    mengeluh komplain komplen menanyakan tanya bertanya izin ijin permisi halo hai hi pagi
    menteri gubernur bupati walikota wali wakil camat lurah kades presiden kapolri kapolda
    kapolres kapolsek direktur dirut kepala ketua sekretaris staf staff petugas pegawai satpam
    polisi dokter perawat bidan guru dosen kurir admin cs operator teller pejabat anggota
    dewan dpr dprd pns asn tni polri pemkot pemkab pemprov kemenkes kemendagri dukcapil disdukcapil
    samsat polres polsek polda pln pdam bpjs kai krl mrt lrt transjakarta pertamina telkom
    indihome bank bca bri bni mandiri bsi rumah rs puskesmas kantor sekolah jalan jl kelurahan
    kecamatan desa kota kabupaten rt rw no nomor nik kk hp wa telp rek rekening sudara
    orang tua ortu korban pelaku oknum mas mbak pak bu bapak ibu kak bang om tante dik""".split()
)
_HONORIFICS = frozenset(
    "bapak ibu pak bu bpk ibuk mas mbak mba kak bang dik adik om tante mbah alm almh".split()
)
_MAX_WORDS = 4


def _take_name(scan: str, pos: int, lower_ok: bool, caps_ok: bool) -> tuple[int, int]:
    """(start, end) of the name beginning at `pos`, or (pos, pos) when there is none."""
    start = end = -1
    words = 0
    cur = pos
    while words < _MAX_WORDS:
        m = _WORD_RE.match(scan, cur)
        if m is None:
            break
        if words and "," in scan[cur : m.start(1)]:
            break  # "Budi, warga ..." ends the name at the comma
        word = m.group(1)
        bare = word.rstrip(".")
        low = bare.lower()
        if words == 0 and low in _HONORIFICS:
            cur = m.end(1)  # "a.n. Bapak Slamet": the honorific stays, the name goes
            continue
        if low in _STOP:
            break
        initial = len(bare) == 1 and word.endswith(".") and bare.isupper()
        if word.endswith(".") and not initial:
            word = bare  # a full stop after a word ends the sentence, and the name
        if initial:
            pass
        elif bare[0].isupper():
            if bare.isupper() and len(bare) > 1 and not caps_ok:
                break
            if not bare[1:].replace("'", "").replace("’", "").replace("-", "").isalpha():
                break
        elif not (lower_ok and bare.isalpha() and len(bare) > 1):
            break
        if start < 0:
            start = m.start(1)
        end = m.start(1) + len(word)
        words += 1
        cur = end
        if word != m.group(1) and not initial:
            break
    if start < 0:
        return pos, pos
    return start, end


def detect_persons(scan: str) -> list[Span]:
    spans: list[Span] = []
    last_end = -1
    for m in _TRIGGER_RE.finditer(scan):
        if m.start() < last_end:
            continue
        kind = m.lastgroup
        if kind == "loose":
            start, end = _take_name(scan, m.end(), lower_ok=True, caps_ok=True)
            lowered = start < end and scan[start].islower()
            if lowered and end - start < 3:
                continue
            score = 0.85
        elif kind == "self":
            start, end = _take_name(scan, m.end(), lower_ok=False, caps_ok=False)
            score = 0.7
        else:
            start, end = _take_name(scan, m.end(), lower_ok=False, caps_ok=kind == "named")
            score = 0.8
        if end > start:
            spans.append(Span("PERSON", start, end, score))
            last_end = end
    return spans

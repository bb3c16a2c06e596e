"""Detector for names of private persons, where the text itself marks a name.

Markers: "nama saya X", form fields ("nama: X", "pelapor: X"), "atas nama X", "a.n. X", "an. X"
(near a transfer), "a/n X", "namanya X", "bernama X", "nama X", "pelapor/pemohon/pengadu X",
"saya X" / "aku X" opening a clause and followed by how introductions go on (",", "dari", "warga",
...), a relative or neighbour with a possessive ("ibu saya Sumiati", "anak saya, Rizki",
"tetangga saya Pak Darto"), neighbourhood heads ("pak RT Joko") and "Kak X" (how service desks
address a customer). A name is 1-4 words (3 after "Kak"): capitalised words and initials ("M.",
"J"); ALL CAPS only after "nama saya", a form field or a.n. (not in shouted text, and not a lone
word of up to 3-4 letters, which is an acronym); lower case only after "nama saya" or a form
field. It ends at function words ("di", "dari", "yang", ...), the next form field, digits or
punctuation. In Title Case text (headlines) the markers that rely on capitals are skipped.

Not redacted on purpose: an honorific with a name and no personal marker ("Bu Risma", "Pak
Jokowi", "Pak Budi", "Mas Gibran"): the text cannot tell a public figure from a private person,
and officials named in their office are what a complaint is about. Offices ("Pak Menteri", "Bu
Lurah") and agency names are never names. Lower-case names after "atas nama" are not taken ("atas
nama almarhum bapak", "atas nama siapa" are far more common than a name typed in lower case).
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
_HONOR = (
    r"(?:bapak|ibu|pak|bu|bpk|ibuk|mas|mbak|mba|kak|bang|dik|adik|om|tante|mbah|alm|almh"
    r"|almarhum|almarhumah)\.?"
)

_ROLES = r"pelapor|pemohon|pemilik|peserta|pelanggan|penerima|pengirim"

_TRIGGER_RE = re.compile(
    r"(?<![\w@\-])(?:"
    # the writer's own name, or a form field: lower case allowed
    rf"(?P<own>nama\x20+(?:lengkap\x20+)?{_POSS}(?:\x20+(?:adalah|ialah|yaitu))?\x20*:?"
    rf"|nama\x20*(?:lengkap\x20*)?(?:{_ROLES})?\x20*:|(?:{_ROLES})\x20*:)"
    # account holder: capitalised or ALL CAPS (bank transfer slips)
    r"|(?P<acct>atas\x20+nama|a\.\x20?n\.?|a/n|an\.)"
    r"|(?P<named>namanya(?:\x20+adalah)?|bernama)"
    # the rest need a capital letter, and are skipped in Title Case headlines
    r"|(?P<bare>nama(?:\x20+lengkap)?|pelapor|pemohon|pengadu)"
    rf"|(?P<kin>(?:{_KIN})\x20*(?:{_POSS}|ku)\x20*,?(?:\x20*(?:yaitu|yakni|yang\x20+bernama"
    rf"|bernama|namanya))?(?:\x20+{_HONOR})?)"
    rf"|(?P<rt>(?:pak|bu|bapak|ibu|ketua)\x20+(?:rt|rw)(?:\x20*\d{{1,3}})?(?:\x20+{_HONOR})?)"
    r"|(?P<kak>kak|kakak)"
    r"|(?P<self>(?<!nama\x20)(?:saya|aku|sy|gue|gw)(?:\x20+(?:adalah|yaitu))?)"
    r")(?=[\x20:,])"
)
# trigger kind -> (lower case names allowed, ALL CAPS names allowed, needs normal case text)
_RULES: dict[str, tuple[bool, bool, bool]] = {
    "own": (True, True, False),
    "acct": (False, True, False),
    "named": (False, False, False),
    "bare": (False, False, True),
    "kin": (False, False, True),
    "rt": (False, False, True),
    "kak": (False, False, True),
    "self": (False, False, True),
}
_SCORES = {"own": 0.85, "acct": 0.85, "named": 0.8, "self": 0.7, "kak": 0.65}
_CAPWORD_RE = re.compile(r"[A-Z][a-z'’]+(?:-[A-Z]?[a-z'’]+)*")
_FIELD_RE = re.compile(r"\x20*:")
_TRANSFER_NEAR_RE = re.compile(r"\d{6}|rek|bank|transfer|tf\b|trf|kirim|bca|bri|bni|mandiri|bsi")
# Lower-case words shaped like verbs ("disamarkan", "tertutup", "berubah") are not names.
_VERB_LIKE_RE = re.compile(r"(?:di|ter|ber)[a-z]{5,}")

_WORD_RE = re.compile(r"[\x20]*,?[\x20]*([A-Za-z][A-Za-z'’\-]*\.?)(?![\w])")

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
    kecamatan desa kota kabupaten rt rw no nomor nik kk hp wa telp rek rekening saudara
    orang tua ortu korban pelaku oknum mas mbak pak bu bapak ibu kak bang om tante dik
    salah benar beda keliatan kelihatan tercantum tertulis terdaftar muncul hilang ganti berubah
    typo dobel ganda sesuai penerima pemohon pelapor penjual pembeli pemilik saksi almarhum
    almarhumah siapa kelompok lembaga perusahaan instansi sobat kakak semuanya pt cv ud pd kud
    tbk yayasan koperasi bumn bumd pemda toko agama tuhan allah negara rakyat bangsa pemerintah
    indonesia hukum cek berikut dulu umat""".split()
)
_HONORIFICS = frozenset(
    "bapak ibu pak bu bpk ibuk mas mbak mba kak bang dik adik om tante mbah alm almh".split()
)
_MAX_WORDS = 4


def _take_name(
    scan: str,
    pos: int,
    lower_ok: bool,
    caps_ok: bool,
    short_caps: int = 4,
    comma_ok: bool = False,
    max_words: int = _MAX_WORDS,
) -> tuple[int, int]:
    """(start, end) of the name beginning at `pos`, or (pos, pos) when there is none."""
    start = end = -1
    words = 0
    all_caps = True
    cur = pos
    while words < max_words:
        m = _WORD_RE.match(scan, cur)
        if m is None:
            break
        if "," in scan[cur : m.start(1)] and (words or not comma_ok):
            break  # "Budi, warga ..." ends the name at the comma
        word = m.group(1)
        bare = word.rstrip(".")
        low = bare.lower()
        if words == 0 and start < 0 and low in _HONORIFICS:
            cur = m.end(1)  # "a.n. Bapak Slamet": the honorific stays, the name goes
            continue
        if low in _STOP or (len(low) >= 7 and low.endswith("nya")):
            break
        if _FIELD_RE.match(scan, m.end(1)):
            break  # "Nama: Jonru Ginting Status: ...": the next form field
        initial = len(bare) == 1 and bare.isupper() and (word.endswith(".") or words > 0)
        sentence_end = word.endswith(".") and not initial
        if initial:
            pass
        elif _CAPWORD_RE.fullmatch(bare):
            all_caps = False
        elif bare.isupper() and bare.isalpha() and len(bare) > 1:
            if not caps_ok:
                break
        elif (
            lower_ok
            and bare.isalpha()
            and bare.islower()
            and len(bare) > 1
            and not _VERB_LIKE_RE.fullmatch(bare)
        ):
            all_caps = False
        else:
            break
        if start < 0:
            start = m.start(1)
        end = m.start(1) + len(bare)
        words += 1
        cur = m.end(1)
        if sentence_end:
            break
    if start < 0:
        return pos, pos
    if all_caps and words == 1 and end - start <= short_caps:
        return pos, pos  # a lone short ALL CAPS word is an acronym (KUA, KTP), not a name
    return start, end


# What follows a name when people introduce themselves ("saya Budi, warga ...", "saya Budi dari").
_SELF_END_RE = re.compile(
    r"\x20*(?:$|[.,;:!?()\n]|(?:dari|asal|warga|umur|usia|selaku|sebagai|yang|yg|pelanggan"
    r"|peserta|nasabah|penumpang|pasien|mewakili|nik|tinggal|alamat|di|ingin|mau|mohon"
    r"|hendak|izin|ijin|ada|sudah|udah|sdh|belum|blm)(?![a-z]))"
)
_PREV_WORD_RE = re.compile(r"(?:([A-Za-z]+)|([.!?,;:(\n]))[\x20]*$")
_CLAUSE_OPENERS = frozenset(
    """halo hallo hai hi hei perkenalkan kenalin kenalkan permisi assalamualaikum dengan ini
    min admin kak kakak pak bu gan sis mas mbak bang dan tapi jadi""".split()
)


def _clause_start(scan: str, pos: int) -> bool:
    """True when `pos` opens a clause: text start, after punctuation or a greeting word."""
    if not scan[max(0, pos - 20) : pos].strip():
        return True
    m = _PREV_WORD_RE.search(scan, max(0, pos - 20), pos)
    if m is None:
        return False  # after a quote, digit or symbol
    return m.group(2) is not None or m.group(1).lower() in _CLAUSE_OPENERS


def _shouting(scan: str) -> bool:
    """Mostly upper-case text: ALL CAPS words are emphasis there, not names."""
    letters = [c for c in scan if c.isalpha()]
    return len(letters) >= 20 and sum(c.isupper() for c in letters) >= 0.5 * len(letters)


# Capitalised in ordinary writing too ("Halo Kak", "Pak Menteri"): no sign of a headline.
_CONVENTIONAL_CAPS = _HONORIFICS | _CLAUSE_OPENERS | {"saya", "kami", "ketua", "rt", "rw"}


def _headline(scan: str) -> bool:
    """Title Case text (news headlines) capitalises common words too; capitals say nothing there.

    Headline: at least two common words capitalised mid-sentence ("Korban Capai 40 Orang", "Tak
    Ada Korban Jiwa"), and more of them than common words in lower case.
    """
    cap_common = low_common = 0
    sentence_start = True
    for raw in scan.split():
        word = raw.strip("\"'()[]*,;:")
        if word.isalpha():
            low = word.lower()
            if low in _STOP and low not in _CONVENTIONAL_CAPS:
                if word.islower():
                    low_common += 1
                elif not sentence_start and word[0].isupper() and word[1:].islower():
                    cap_common += 1
        sentence_start = raw[-1] in ".!?"
    return cap_common >= 2 and cap_common > low_common


def detect_persons(scan: str, lower: str, starts: list[int] | None = None) -> list[Span]:
    """PERSON spans; markers are matched on `lower` (same offsets), names read from `scan`.

    `starts`: offsets where a marker may begin (from `keywords.find_keywords`); all when None.
    """
    spans: list[Span] = []
    last_end = -1
    headline: bool | None = None
    shouting: bool | None = None
    if starts is None:
        matches = list(_TRIGGER_RE.finditer(lower))
    else:
        matches = [m for pos in starts if (m := _TRIGGER_RE.match(lower, pos)) is not None]
    for m in matches:
        if m.start() < last_end:
            continue
        kind = m.lastgroup or "self"
        lower_ok, caps_ok, needs_case = _RULES[kind]
        if kind == "acct" and m.group() == "an." and not _TRANSFER_NEAR_RE.search(
            lower, max(0, m.start() - 40), m.start()
        ):
            continue  # "an." abbreviates "atas nama" on transfers; elsewhere it ends a word
        if kind == "self" and not _clause_start(scan, m.start()):
            continue  # "alamat saya Medan", "KTP gue Bekasi": a possessive, not "I am"
        if caps_ok:
            if shouting is None:
                shouting = _shouting(scan)
            caps_ok = not shouting
        # a transfer slip's holder may be one short name ("a.n. DEWI"); elsewhere that is an acronym
        short_caps = 3 if kind == "acct" else 4
        start, end = _take_name(
            scan,
            m.end(),
            lower_ok,
            caps_ok,
            short_caps,
            comma_ok=kind == "kin",
            max_words=3 if kind == "kak" else _MAX_WORDS,
        )
        if end <= start:
            continue
        if kind == "self" and not _SELF_END_RE.match(lower, end):
            continue  # "Aku Cinta PLN", "Gw Barusan debat": not an introduction
        if needs_case:
            if headline is None:
                headline = _headline(scan)
            if headline:
                continue
        spans.append(Span("PERSON", start, end, _SCORES.get(kind, 0.75)))
        last_end = end
    return spans

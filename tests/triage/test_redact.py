"""Tests of triage.redact: detectors per type, look-alikes, overlaps, operators, properties."""

from __future__ import annotations

import ast
import hashlib
import hmac
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triage.redact import (
    DEFAULT_POLICY,
    ENTITY_TYPES,
    OPERATORS,
    Redacted,
    RedactionError,
    RedactionKeyError,
    RedactionPolicy,
    RedactionPolicyError,
    Span,
    apply_policy,
    detect,
    redact,
)
from triage.redact.regions import PLATE_PREFIXES, PROVINCES, REGION_PREFIXES

AGENCIES = frozenset({"pln_123", "kai121", "bpjskesehatanri", "dukcapilkemendagri"})


def found(text: str, **kw: object) -> list[tuple[str, str]]:
    """(type, value) of every detected span."""
    return [(s.type, text[s.start : s.end]) for s in detect(text, **kw)]  # type: ignore[arg-type]


def assert_finds(text: str, etype: str, value: str, **kw: object) -> None:
    got = found(text, **kw)
    assert (etype, value) in got, f"{etype} {value!r} not found in {text!r}: {got}"


# --------------------------------------------------------------------------- public surface


def test_public_api_and_entity_types() -> None:
    assert ENTITY_TYPES == (
        "NIK", "NO_KK", "NPWP", "PHONE", "EMAIL", "BANK_ACCOUNT", "BPJS_NUMBER", "PLN_ID",
        "VEHICLE_PLATE", "ADDRESS", "PERSON", "USERNAME",
    )
    assert set(OPERATORS) == {"replace", "mask", "hash", "drop"}
    assert DEFAULT_POLICY.name == "v1"
    assert DEFAULT_POLICY.operator_for("NIK") == "replace"
    span = Span("NIK", 0, 16, 0.9)
    with pytest.raises(AttributeError):
        span.start = 3  # type: ignore[misc]


def test_design_example() -> None:
    text = "NIK saya 3171014509900003 ditolak di loket, disuruh bayar 200rb biar cepat @DukcapilKemendagri"
    result = redact(text, protected_handles=frozenset({"dukcapilkemendagri"}))
    assert result.text == (
        "NIK saya [NIK] ditolak di loket, disuruh bayar 200rb biar cepat @DukcapilKemendagri"
    )
    assert result.counts() == {"NIK": 1}


def test_redaction_module_is_pure() -> None:
    """Only the standard library and triage.errors: no I/O packages in the pure core."""
    allowed = {
        "__future__", "re", "hashlib", "hmac", "dataclasses", "collections.abc", "types",
        "typing", "bisect", "functools", "triage.errors",
    }
    package = Path(__file__).resolve().parents[2] / "triage" / "redact"
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name in allowed, f"{path.name} imports {name}"
        assert len(path.read_text(encoding="utf-8").splitlines()) < 420, path.name


def test_region_table_uses_real_province_codes() -> None:
    assert set(PROVINCES) == {
        11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62, 63,
        64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96,
    }
    assert "3171" in REGION_PREFIXES and "3201" in REGION_PREFIXES
    assert "2071" not in REGION_PREFIXES  # 20 is no province
    assert "3150" not in REGION_PREFIXES  # no regency 50 in DKI


# --------------------------------------------------------------------------- identity numbers


@pytest.mark.parametrize(
    "text, value",
    [
        ("NIK saya 3171014509900003 belum terdaftar", "3171014509900003"),
        ("ktp: 3273 0112 8901 0002 ditolak", "3273 0112 8901 0002"),
        ("nik 327301.128901.0002 ya min", "327301.128901.0002"),
        ("data saya 3578-016105-920001 kok dipakai orang", "3578-016105-920001"),
        ("NIK3171014509900003 dipakai pinjol", "3171014509900003"),
        ("3174055212850011 itu nomor saya, tolong cek", "3174055212850011"),  # no context word
    ],
)
def test_nik(text: str, value: str) -> None:
    assert_finds(text, "NIK", value)


@pytest.mark.parametrize(
    "text, value",
    [
        ("No KK 3171010101100001 belum update", "3171010101100001"),
        ("kartu keluarga 3273 0101 0115 0003 masih alamat lama", "3273 0101 0115 0003"),
        ("Nomor Kartu Keluarga 3674272107186538 ditolak", "3674272107186538"),
        # date part impossible for a NIK (day 35), region real: a KK number even without context
        ("nomor 3171013512100007 ini punya siapa", "3171013512100007"),
    ],
)
def test_no_kk(text: str, value: str) -> None:
    assert_finds(text, "NO_KK", value)


def test_nik_and_kk_side_by_side_get_their_own_context() -> None:
    text = "NIK 3171014509900003 KK 3171010101100001"
    assert found(text) == [("NIK", "3171014509900003"), ("NO_KK", "3171010101100001")]


def test_sixteen_digits_without_real_region_and_context_survive() -> None:
    text = "nomor resi 2071014509900003 belum sampai, kode 9999888877776666"
    assert found(text) == []


@pytest.mark.parametrize(
    "text, value",
    [
        ("NPWP saya 09.254.294.3-407.000 ada tagihan", "09.254.294.3-407.000"),
        ("npwp 092542943407000 belum valid", "092542943407000"),
        ("NPWP baru 3171014509900003 (pakai NIK)", "3171014509900003"),
    ],
)
def test_npwp(text: str, value: str) -> None:
    assert_finds(text, "NPWP", value)


@pytest.mark.parametrize(
    "text, value",
    [
        ("wa saya 0812-3456-7890 ya", "0812-3456-7890"),
        ("hubungi 081234567890", "081234567890"),
        ("hp 0812 3456 789", "0812 3456 789"),
        ("nomor +62 812 3456 7890 penipu", "+62 812 3456 7890"),
        ("62 813-1111-2222 ngaku CS", "62 813-1111-2222"),
        ("6281311112222 minta OTP", "6281311112222"),
        ("call center (021) 555-1234 ga diangkat", "(021) 555-1234"),
        ("telp 021-5551234", "021-5551234"),
        ("kantor 0274 512345 mati", "0274 512345"),
        ("(+62) 812 3456 7890", "(+62) 812 3456 7890"),
        ("chat wa.me/6281234567890 aja", "6281234567890"),
    ],
)
def test_phone(text: str, value: str) -> None:
    assert_finds(text, "PHONE", value)


def test_phone_leaves_a_trailing_count_alone() -> None:
    assert found("hubungi 0812 3456 7890 2 kali ga diangkat") == [("PHONE", "0812 3456 7890")]


def test_email() -> None:
    text = "kirim ke budi.santoso+lapor@gmail.com atau rina_w@mail.ugm.ac.id."
    assert found(text) == [
        ("EMAIL", "budi.santoso+lapor@gmail.com"),
        ("EMAIL", "rina_w@mail.ugm.ac.id"),
    ]


@pytest.mark.parametrize(
    "text, value",
    [
        ("transfer ke BCA 1234567890 a.n. Budi", "1234567890"),
        ("no rek 123-456-7890123 dibekukan", "123-456-7890123"),
        ("rekening BRI saya 0123 0101 2345 501 kena potong", "0123 0101 2345 501"),
        ("norek mandiri: 1370012345678", "1370012345678"),
        ("dikirim ke 8830123456 (BNI)", "8830123456"),
    ],
)
def test_bank_account(text: str, value: str) -> None:
    assert_finds(text, "BANK_ACCOUNT", value)


def test_bank_context_does_not_take_prices_dates_or_phones() -> None:
    text = "transfer BCA Rp 15.000.000 tgl 2026-11-22 jam 14.00-18.00, konfirmasi ke 081234567890"
    assert found(text) == [("PHONE", "081234567890")]


@pytest.mark.parametrize(
    "text, value",
    [
        ("kartu BPJS 0001234567890 nonaktif", "0001234567890"),
        ("no KIS 1234567890123 ditolak", "1234567890123"),
        ("nomor peserta JKN 0002 3456 7890 1", "0002 3456 7890 1"),
    ],
)
def test_bpjs(text: str, value: str) -> None:
    assert_finds(text, "BPJS_NUMBER", value)


@pytest.mark.parametrize(
    "text, value",
    [
        ("IDPEL 532110123456 padam", "532110123456"),
        ("id pelanggan 1218 1586 4636 belum nyala", "1218 1586 4636"),
        ("no meter 14012345678 bunyi terus", "14012345678"),
        ("meteran 45012345678 rusak", "45012345678"),
    ],
)
def test_pln_id(text: str, value: str) -> None:
    assert_finds(text, "PLN_ID", value)


def test_pln_token_is_not_personal() -> None:
    assert found("token 1234 5678 9012 3456 7890 gagal") == []


# --------------------------------------------------------------------------- plates, places, people


@pytest.mark.parametrize(
    "text, value",
    [
        ("mobil B 1234 XYZ parkir di trotoar", "B 1234 XYZ"),
        ("AB 1234 CD ngebut", "AB 1234 CD"),
        ("D 12 A nabrak lari", "D 12 A"),
        ("plat B1234XYZ kabur", "B1234XYZ"),
        ("motor b 1234 xyz dicuri", "b 1234 xyz"),
        ("nopol L 5282 dipakai orang", "L 5282"),
    ],
)
def test_vehicle_plate(text: str, value: str) -> None:
    assert_finds(text, "VEHICLE_PLATE", value)


@pytest.mark.parametrize(
    "text",
    [
        "KA 123 telat 2 jam, KRL 1234 juga",
        "sudah di 2 hari di RS",
        "lulusan S1 IT, laptop M1403QA, film G30S, temuan P2TL",
        "antrian A-023 dan B 12",
    ],
)
def test_plate_lookalikes(text: str) -> None:
    assert [t for t, _ in found(text)] == []


@pytest.mark.parametrize(
    "text, value",
    [
        (
            "air mati di Jl. Melati No. 12 RT 03/RW 05, Kel. Sukajadi. Tolong",
            "Jl. Melati No. 12 RT 03/RW 05, Kel. Sukajadi",
        ),
        ("rumah saya di Gg. Mawar II RT.003 RW.005 kebanjiran", "Gg. Mawar II RT.003 RW.005"),
        ("Perum Griya Asri Blok C2 No. 15 Bekasi gelap", "Perum Griya Asri Blok C2 No. 15"),
        ("tinggal di jl kenanga no 7 rt 2 rw 9, belum dapat", "jl kenanga no 7 rt 2 rw 9"),
        ("warga RT 05 RW 02 Kelurahan Cempaka Putih kebanjiran", "RT 05 RW 02 Kelurahan Cempaka Putih"),
    ],
)
def test_address(text: str, value: str) -> None:
    assert_finds(text, "ADDRESS", value)


@pytest.mark.parametrize(
    "text",
    [
        "Jl. Sudirman macet parah sejak pagi",  # a road, not a dwelling
        "pelayanan di kantor Kecamatan Cilandak lambat",  # an office
        "banjir di Bandung dan Bekasi",  # bare city names
        "jalan kaki ke kantor desa, jalan rusak",
        "Blok M macet, lantai 3 Blok B",
        "Jalan Tol Cipularang KM 92 ditutup",
    ],
)
def test_address_lookalikes(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    "text, value",
    [
        ("nama saya Budi Santoso dari Bekasi", "Budi Santoso"),
        ("nama saya siti aminah, warga RT 3", "siti aminah"),
        ("Halo min, saya Rina. KIP belum cair", "Rina"),
        ("ibu saya Sumiati ditolak IGD", "Sumiati"),
        ("anak saya, Rizki Pratama, tidak lolos zonasi", "Rizki Pratama"),
        ("pak RT Joko minta uang", "Joko"),
        ("tetangga saya Pak Darto jatuh", "Darto"),
        ("rek 1234567890 a.n. SITI AMINAH", "SITI AMINAH"),
        ("petugas bernama Slamet Riyadi minta pelicin", "Slamet Riyadi"),
        ("Nama: Indra J Piliang\nKeluhan: KTP", "Indra J Piliang"),
        ("@rina_w Halo Kak Rina, mohon maaf", "Rina"),
    ],
)
def test_person(text: str, value: str) -> None:
    assert_finds(text, "PERSON", value)


@pytest.mark.parametrize(
    "text",
    [
        "Bu Risma tolong lihat pasar ini",  # public figure: honorific without a marker
        "Pak Menteri, kapan turun ke lapangan?",  # an office
        "saya PNS, saya Warga Bekasi",
        "nama saya salah cetak di paspor",
        "sertifikat masih atas nama almarhum bapak",
        "Polda Ungkap Penipuan CPNS Bodong, Korban Capai 40 Orang",  # headline
        "alamat saya Medan, paket nyasar",
    ],
)
def test_person_lookalikes(text: str) -> None:
    assert [t for t, _ in found(text)] == []


def test_usernames_and_protected_handles() -> None:
    text = "@PLN_123 listrik mati, cc @budi_s @Kai121 dan u/rina_w, RT @warga99: sama"
    got = found(text, protected_handles=AGENCIES)
    assert got == [("USERNAME", "@budi_s"), ("USERNAME", "u/rina_w"), ("USERNAME", "@warga99")]
    assert "@PLN_123" in redact(text, protected_handles=AGENCIES).text


def test_an_abbreviation_only_near_a_transfer() -> None:
    assert found("rek BCA 1234567890 an. Budi Santoso") == [
        ("BANK_ACCOUNT", "1234567890"),
        ("PERSON", "Budi Santoso"),
    ]
    assert found("harga naik terus sejak 2020-an. Dulu murah") == []


def test_shouted_text_has_no_all_caps_names() -> None:
    assert found("NAMANYA APLIKASI PEMERINTAH, ATAS NAMA RAKYAT KOK GINI") == []


def test_counts_follow_entity_type_order() -> None:
    result = redact("wa 081234567890, NIK 3171014509900003, @budi_s, wa 081298765432")
    assert list(result.counts().items()) == [("NIK", 1), ("PHONE", 2), ("USERNAME", 1)]


def test_protected_handle_is_never_touched_by_other_detectors() -> None:
    text = "@kai121 ini kereta KA 123"
    assert redact(text, protected_handles=frozenset({"kai121"})).text == text


# --------------------------------------------------------------------------- look-alikes


@pytest.mark.parametrize(
    "text",
    [
        "harga Rp 1.500.000, Rp50rb, 200rb, 1,5 jt, IDR 2.500.000 dan Rp 1 500 000",
        "tanggal 12/11/2026 dan 2026-11-22 jam 08.30 sampai 14:00 WIB, naik 12%",
        "kode booking ABC1234 dan KJ8PQ2, antrian A-023, KA 123, KRL 1234",
        "laporan #1234567 dan no. laporan 2511-8890 belum diproses",
        "https://x.com/pln_123/status/1879859779184820459 lihat",
        "tahun 2026, sudah 3 bulan, pesanan 2511220012345 belum dikirim",
        "NIP 198503152010011002 dan 19850315 201001 1 002 minta uang",
        "jadwal 05.05 09.00 11.10 14.45 dan 17.45 WIB",
        "IP 10.22.227.113 diblokir, order id 248093429199040 pembayaran gagal",
    ],
)
def test_lookalikes_survive(text: str) -> None:
    assert redact(text).text == text, found(text)


# --------------------------------------------------------------------------- spans, overlaps, offsets


def test_offsets_point_into_the_original_text() -> None:
    text = "Nama saya Budi, NIK 3171014509900003, wa 0812-3456-7890, email budi@x.co.id"
    spans = detect(text)
    assert [(s.type, text[s.start : s.end]) for s in spans] == [
        ("PERSON", "Budi"),
        ("NIK", "3171014509900003"),
        ("PHONE", "0812-3456-7890"),
        ("EMAIL", "budi@x.co.id"),
    ]
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))


def test_overlap_resolution_by_score_then_length() -> None:
    text = "0123456789"
    spans = [
        Span("BANK_ACCOUNT", 0, 10, 0.5),
        Span("PHONE", 0, 4, 0.9),  # higher score wins despite being shorter
        Span("NIK", 3, 8, 0.9),  # same score, overlaps the PHONE: the longer one wins
    ]
    result = apply_policy(text, spans)
    assert [(s.type, s.start, s.end) for s in result.entities] == [("NIK", 3, 8)]
    assert result.text == "012[NIK]89"


def test_input_is_not_mutated() -> None:
    text = "NIK 3171014509900003"
    spans = [Span("NIK", 4, 20, 0.9)]
    copy = list(spans)
    result = apply_policy(text, spans)
    assert text == "NIK 3171014509900003" and spans == copy
    assert result.text == "NIK [NIK]" and isinstance(result, Redacted)


def test_bad_spans_are_refused() -> None:
    with pytest.raises(RedactionError):
        apply_policy("abc", [Span("NIK", 0, 10, 1.0)])
    with pytest.raises(RedactionError):
        apply_policy("abc", [Span("SECRET", 0, 1, 1.0)])


def test_empty_and_plain_text() -> None:
    assert detect("") == []
    assert redact("listrik mati lagi").text == "listrik mati lagi"
    assert redact("listrik mati lagi").counts() == {}


# --------------------------------------------------------------------------- operators


def test_operators() -> None:
    text = "NIK 3171014509900003 wa 081234567890"
    key = b"secret-key"
    policy = RedactionPolicy(
        name="t", operators={"NIK": "mask", "PHONE": "hash"}, hash_key=key
    )
    result = redact(text, policy=policy)
    tag = hmac.new(key, b"081234567890", hashlib.sha256).hexdigest()[:8]
    assert result.text == f"NIK ************0003 wa [PHONE:{tag}]"
    dropped = redact(text, policy=RedactionPolicy(operators={"NIK": "drop", "PHONE": "drop"}))
    assert dropped.text == "NIK  wa "
    assert dropped.counts() == {"NIK": 1, "PHONE": 1}


def test_hash_without_key_is_a_clear_error() -> None:
    policy = RedactionPolicy(operators={"NIK": "hash"})
    with pytest.raises(RedactionKeyError, match="hash_key"):
        redact("NIK 3171014509900003", policy=policy)
    assert redact("tanpa data pribadi", policy=policy).text == "tanpa data pribadi"


def test_policy_is_checked_when_built_and_hides_its_key() -> None:
    with pytest.raises(RedactionPolicyError):
        RedactionPolicy(operators={"NIK": "encrypt"})
    with pytest.raises(RedactionPolicyError):
        RedactionPolicy(operators={"SSN": "replace"})
    policy = RedactionPolicy(hash_key=b"top-secret")
    assert "top-secret" not in repr(policy) and "***" in repr(policy)
    assert issubclass(RedactionError, Exception)


def test_mask_keeps_little() -> None:
    span = Span("PHONE", 0, 12, 1.0)
    assert OPERATORS["mask"]("081234567890", span, DEFAULT_POLICY) == "********7890"
    assert OPERATORS["mask"]("B 12 A", span, DEFAULT_POLICY) == "**** A"
    assert OPERATORS["mask"]("Ani", span, DEFAULT_POLICY) == "***"


# --------------------------------------------------------------------------- properties

PROV_REGIONS = sorted(REGION_PREFIXES)
NAMES = ["Budi", "Sumiati", "Rizki", "Wulandari", "Hendra", "Siregar", "Made", "Yohanes", "Aminah"]
STREETS = ["Melati", "Kenanga", "Ahmad Yani", "Diponegoro", "Cendrawasih", "Kartini"]
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def nik_values(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(PROV_REGIONS))
    kec = draw(st.integers(1, 40))
    day = draw(st.integers(1, 31)) + draw(st.sampled_from([0, 40]))
    month, year = draw(st.integers(1, 12)), draw(st.integers(0, 99))
    serial = draw(st.integers(1, 9999))
    d = f"{region}{kec:02d}{day:02d}{month:02d}{year:02d}{serial:04d}"
    style = draw(st.sampled_from(["plain", "4x4", "dots", "dashes"]))
    if style == "4x4":
        return " ".join(d[i : i + 4] for i in range(0, 16, 4))
    if style == "dots":
        return f"{d[:6]}.{d[6:12]}.{d[12:]}"
    if style == "dashes":
        return f"{d[:6]}-{d[6:12]}-{d[12:]}"
    return d


@st.composite
def kk_values(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(PROV_REGIONS))
    return region + f"{draw(st.integers(0, 10**12 - 1)):012d}"


@st.composite
def npwp_values(draw: st.DrawFn) -> str:
    d = f"{draw(st.integers(0, 10**15 - 1)):015d}"
    if draw(st.booleans()):
        return f"{d[:2]}.{d[2:5]}.{d[5:8]}.{d[8]}-{d[9:12]}.{d[12:]}"
    return d


@st.composite
def phone_values(draw: st.DrawFn) -> str:
    d = "08" + str(draw(st.integers(10**7, 10**11 - 1)))
    style = draw(st.sampled_from(["plain", "dash", "space", "plus", "62", "dots"]))
    rest = d[4:]
    if style == "dash":
        return f"{d[:4]}-{rest[:4]}-{rest[4:]}"
    if style == "space":
        return f"{d[:4]} {rest[:4]} {rest[4:]}"
    if style == "plus":
        return f"+62 {d[1:4]} {rest[:4]} {rest[4:]}"
    if style == "62":
        return "62" + d[1:]
    if style == "dots":
        return f"{d[:4]}.{rest[:4]}.{rest[4:]}"
    return d


LOWER = "abcdefghijklmnopqrstuvwxyz"
emails = st.builds(
    lambda first, sep, last, dom, tld: f"{first}{sep}{last}@{dom}.{tld}",
    st.text(LOWER, min_size=1, max_size=10),
    st.sampled_from(["", ".", "_", "+"]),
    st.text(LOWER + "0123456789", min_size=1, max_size=8),
    st.text(LOWER, min_size=2, max_size=10),
    st.sampled_from(["com", "co.id", "ac.id", "id", "net"]),
)
bank_values = st.integers(10**9, 10**16 - 1).map(str)
bpjs_values = st.integers(0, 10**10 - 1).map(lambda n: f"000{n:010d}")
idpel_values = st.integers(10**11, 6 * 10**11 - 1).map(str)
plate_values = st.builds(
    lambda p, n, s: f"{p} {n} {s}",
    st.sampled_from(sorted(PLATE_PREFIXES)),
    st.integers(1, 9999),
    st.text("ABCDEFGHJKLMNPRSTUVWXYZ", min_size=1, max_size=3),
)
address_values = st.builds(
    lambda street, no, rt, rw, with_rt: f"Jl. {street} No. {no}"
    + (f" RT {rt:02d}/RW {rw:02d}" if with_rt else ""),
    st.sampled_from(STREETS),
    st.integers(1, 200),
    st.integers(1, 20),
    st.integers(1, 15),
    st.booleans(),
)
person_values = st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True).map(" ".join)
handle_values = st.builds(
    lambda head, tail: f"@{head}{tail}",
    st.sampled_from(LOWER),
    st.text(LOWER + "0123456789_", min_size=3, max_size=14),
).filter(lambda h: h[1:] not in AGENCIES)

TEMPLATES: dict[str, tuple[st.SearchStrategy[str], list[str]]] = {
    "NIK": (nik_values(), ["Min, NIK saya {} ditolak terus", "nik {}\nmohon dicek {agency}"]),
    "NO_KK": (kk_values(), ["No KK {} belum update", "kartu keluarga {} salah nama"]),
    "NPWP": (npwp_values(), ["NPWP saya {} kena denda", "npwp: {}, tolong cek {agency}"]),
    "PHONE": (phone_values(), ["hubungi saya di {} ya", "wa {} aktif, makasih {agency}"]),
    "EMAIL": (emails, ["kirim ke {} ya min", "email saya {}. Belum dibalas"]),
    "BANK_ACCOUNT": (bank_values, ["transfer ke BCA {} katanya", "no rek {} a.n. saya"]),
    "BPJS_NUMBER": (bpjs_values, ["kartu BPJS {} nonaktif", "no KIS {} ditolak RS"]),
    "PLN_ID": (idpel_values, ["IDPEL {} padam lagi", "id pelanggan {} tagihan aneh"]),
    "VEHICLE_PLATE": (plate_values, ["mobil {} parkir sembarangan", "{} ugal-ugalan {agency}"]),
    "ADDRESS": (address_values, ["air mati di {}, tolong", "rumah saya di {} kebanjiran"]),
    "PERSON": (person_values, ["nama saya {} dari Bekasi", "ibu saya {} ditolak IGD"]),
    "USERNAME": (handle_values, ["{} juga ngalamin, {agency} tolong", "cc {} biar rame"]),
}


def _check_woven(etype: str, value: str, template: str) -> None:
    text = template.format(value, agency="@pln_123")
    result = redact(text, protected_handles=AGENCIES)
    assert value not in result.text, (etype, text, result.text)
    start = text.index(value)
    assert any(
        s.type == etype and s.start <= start and start + len(value) <= s.end
        for s in result.entities
    ), (etype, text, [(s.type, text[s.start : s.end]) for s in result.entities])
    if "{agency}" in template:
        assert "@pln_123" in result.text


@pytest.mark.parametrize("etype", list(TEMPLATES))
def test_generated_values_never_leak(etype: str) -> None:
    strategy, templates = TEMPLATES[etype]

    @FAST
    @given(value=strategy, template=st.sampled_from(templates))
    def check(value: str, template: str) -> None:
        _check_woven(etype, value, template)

    check()


@FAST
@given(
    nik=nik_values(),
    phone=phone_values(),
    email=emails,
    name=person_values,
    plate=plate_values,
    price=st.integers(1, 999).map(lambda n: f"Rp {n}.000"),
)
def test_mixed_post_never_leaks(
    nik: str, phone: str, email: str, name: str, plate: str, price: str
) -> None:
    text = (
        f"Saya {name}, NIK {nik}, hp {phone}, email {email}. Mobil {plate} nabrak pagar, "
        f"diminta damai {price} @pln_123"
    )
    result = redact(text, protected_handles=AGENCIES)
    for value in (nik, phone, email, name, plate):
        assert value not in result.text, (value, result.text)
    assert price in result.text and "@pln_123" in result.text


@FAST
@given(st.text(max_size=300))
def test_any_text_gives_sorted_in_bounds_spans(text: str) -> None:
    spans = detect(text)
    assert all(0 <= s.start < s.end <= len(text) and s.type in ENTITY_TYPES for s in spans)
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))
    result = apply_policy(text, spans)
    if not spans:
        assert result.text == text
    # replacing each span back with its original value restores the input
    restored, pos = [], 0
    for s in spans:
        restored.append(text[pos : s.start] + text[s.start : s.end])
        pos = s.end
    assert "".join(restored) + text[pos:] == text


@FAST
@given(
    st.lists(
        st.sampled_from(
            ["Rp 1.500.000", "12/11/2026", "08.30", "14:00 WIB", "12%", "ABC1234", "A-023",
             "KA 123", "KRL 1234", "#1234567", "2026", "3 bulan", "200rb", "1,5 jt",
             "2026-11-22", "kode booking KJ8PQ2", "Bu Risma", "Jl. Sudirman", "lantai 3"]
        ),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from(["{} bikin kesel", "Min, {} gimana ini", "{}\nudah lapor tapi belum ada"]),
)
def test_lookalikes_woven_into_posts_survive(parts: list[str], template: str) -> None:
    text = template.format(" dan ".join(parts))
    assert redact(text).text == text, found(text)


def test_email_on_a_www_domain_is_not_taken_for_a_url() -> None:
    """Found by hypothesis: "a0@www.com" was read as a URL from "www." on and kept whole."""
    assert redact("email a0@www.com, cek www.pln.co.id/x").text == "email [EMAIL], cek www.pln.co.id/x"

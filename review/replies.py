"""Suggested public replies in Bahasa Indonesia, per substance and maladministration type.

A reply is built ONLY from the fixed sentences below, the display name of the sector and the
agency's name from the registry: never from the post's text, its author or anything a post can
carry, so it cannot repeat personal data. Humas staff edit it before sending.
"""

from __future__ import annotations

from triage.taxonomy import display

OPENING = "Halo, terima kasih sudah menyampaikan hal ini kepada {agency}."
CLOSING = (
    "Agar dapat kami tindak lanjuti, mohon kirimkan rinciannya melalui pesan langsung (DM) atau "
    "kanal pengaduan resmi SP4N-LAPOR! (lapor.go.id). Demi keamanan, jangan menuliskan data "
    "pribadi seperti NIK, nomor KK atau nomor telepon di kolom komentar publik."
)

# What we say about each maladministration type: acknowledgement + what happens next.
BY_MALADMINISTRATION = {
    "penundaan_berlarut": "Mohon maaf atas lamanya proses layanan {sector} yang Anda alami. Kami "
    "akan menelusuri status permohonan Anda dan menyampaikan perkembangannya.",
    "tidak_memberikan_pelayanan": "Mohon maaf layanan {sector} belum dapat Anda terima. Kami akan "
    "memeriksa kendalanya bersama unit terkait.",
    "tidak_kompeten": "Mohon maaf atas kendala layanan {sector} yang Anda alami. Kami akan "
    "memeriksa dan memperbaiki data atau sistem yang bermasalah.",
    "permintaan_imbalan": "Layanan kami tidak memungut biaya di luar tarif resmi. Dugaan "
    "permintaan imbalan yang Anda sampaikan akan kami teruskan ke unit pengawasan internal, dan "
    "identitas pelapor kami jaga kerahasiaannya.",
    "penyimpangan_prosedur": "Terima kasih atas laporannya. Kami akan memeriksa apakah layanan "
    "{sector} yang Anda terima sudah sesuai standar pelayanan dan prosedur yang berlaku.",
    "penyalahgunaan_wewenang": "Kami menanggapi serius laporan dugaan penyalahgunaan wewenang ini "
    "dan akan meneruskannya ke unit pengawasan internal. Identitas pelapor kami jaga kerahasiaannya.",
    "tidak_patut": "Mohon maaf atas perlakuan petugas yang tidak berkenan. Laporan Anda akan kami "
    "sampaikan kepada atasan petugas untuk dievaluasi.",
    "diskriminasi": "Setiap warga berhak atas pelayanan {sector} yang sama. Kami akan menelusuri "
    "perlakuan yang Anda laporkan.",
    "berpihak": "Kami berkomitmen melayani secara netral. Laporan Anda akan kami telusuri.",
    "konflik_kepentingan": "Kami menanggapi serius dugaan konflik kepentingan ini dan akan "
    "meneruskannya ke unit pengawasan internal.",
    "tidak_ada": "Masukan Anda tentang layanan {sector} kami catat dan sampaikan kepada unit terkait.",
}

QUESTION = (
    "Halo, terima kasih atas pertanyaannya tentang layanan {sector}{agency}. Informasi lengkap "
    "dapat dilihat di kanal informasi resmi kami, atau silakan kirimkan pertanyaan Anda melalui "
    "pesan langsung (DM) agar dapat kami bantu. Mohon tidak menuliskan data pribadi di kolom "
    "komentar publik."
)

DEFAULT_AGENCY = "kami"


def suggest_reply(kind: str, substance: str, maladministration: str, agency_name: str | None) -> str | None:
    """The suggested reply, or None for posts that are neither complaint nor question."""
    agency = agency_name or DEFAULT_AGENCY
    sector = display(substance).lower() if substance not in ("none", "lainnya") else "publik"
    if kind == "pertanyaan":
        return QUESTION.format(sector=sector, agency=f" {agency_name}" if agency_name else "")
    if kind != "aduan":
        return None
    middle = BY_MALADMINISTRATION.get(maladministration, BY_MALADMINISTRATION["tidak_ada"])
    return " ".join((OPENING.format(agency=agency), middle.format(sector=sector), CLOSING))

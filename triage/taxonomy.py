"""The label sets of LABELS.md: the product's ids, used by models, corpus, review page and queue."""

from __future__ import annotations

KINDS = ("aduan", "pertanyaan", "lainnya")

SUBSTANCES = (
    "pendidikan", "kesehatan", "jaminan_sosial", "administrasi_kependudukan", "kepolisian",
    "listrik", "air_minum", "bantuan_sosial", "pajak", "pertanahan", "perhubungan",
    "infrastruktur", "perizinan", "kepegawaian", "ketenagakerjaan", "desa", "perbankan_keuangan",
    "perdagangan", "energi", "pertanian_pangan", "peradilan", "agama", "lingkungan_hidup",
    "imigrasi", "komunikasi_informatika", "perumahan", "koperasi_umkm", "lainnya", "none",
)  # fmt: skip

MALADMINISTRATION = (
    "penundaan_berlarut", "tidak_memberikan_pelayanan", "tidak_kompeten", "permintaan_imbalan",
    "penyimpangan_prosedur", "penyalahgunaan_wewenang", "tidak_patut", "diskriminasi",
    "berpihak", "konflik_kepentingan", "tidak_ada",
)  # fmt: skip

LABEL_SETS = {"kind": KINDS, "substance": SUBSTANCES, "maladministration": MALADMINISTRATION}

# How the review page names each label, in Bahasa Indonesia.
DISPLAY = {
    "aduan": "Aduan", "pertanyaan": "Pertanyaan", "lainnya": "Lainnya", "none": "Bukan layanan publik",
    "pendidikan": "Pendidikan", "kesehatan": "Kesehatan", "jaminan_sosial": "Jaminan sosial",
    "administrasi_kependudukan": "Administrasi kependudukan", "kepolisian": "Kepolisian",
    "listrik": "Listrik", "air_minum": "Air minum", "bantuan_sosial": "Bantuan sosial",
    "pajak": "Pajak", "pertanahan": "Pertanahan", "perhubungan": "Perhubungan",
    "infrastruktur": "Infrastruktur", "perizinan": "Perizinan", "kepegawaian": "Kepegawaian",
    "ketenagakerjaan": "Ketenagakerjaan", "desa": "Desa/kelurahan",
    "perbankan_keuangan": "Perbankan & keuangan", "perdagangan": "Perdagangan", "energi": "Energi",
    "pertanian_pangan": "Pertanian & pangan", "peradilan": "Peradilan", "agama": "Agama",
    "lingkungan_hidup": "Lingkungan hidup", "imigrasi": "Imigrasi",
    "komunikasi_informatika": "Komunikasi & informatika", "perumahan": "Perumahan",
    "koperasi_umkm": "Koperasi & UMKM",
    "penundaan_berlarut": "Penundaan berlarut", "tidak_memberikan_pelayanan": "Tidak memberikan pelayanan",
    "tidak_kompeten": "Tidak kompeten", "permintaan_imbalan": "Permintaan imbalan",
    "penyimpangan_prosedur": "Penyimpangan prosedur", "penyalahgunaan_wewenang": "Penyalahgunaan wewenang",
    "tidak_patut": "Tidak patut", "diskriminasi": "Diskriminasi", "berpihak": "Berpihak",
    "konflik_kepentingan": "Konflik kepentingan", "tidak_ada": "Tidak ada",
}  # fmt: skip


def display(label: str) -> str:
    return DISPLAY.get(label, label)

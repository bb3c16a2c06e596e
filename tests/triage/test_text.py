"""Normalisation of Indonesian social-media text (triage.text) and the team's lexicon."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from triage.lexicon import SLANG, STOPWORDS, WORD_CLASSES
from triage.text import _stemmer, normalize, normalize_word, split_hashtag, stem, tokenize

SEED_DIR = Path(__file__).resolve().parents[2] / "data" / "seed"


CLASS_TAGS = set(WORD_CLASSES.values())


def words(text: str) -> list[str]:
    """The normalised words, without the word-class tokens the lexicon adds."""
    return [w for w in normalize(text).split() if w not in CLASS_TAGS]


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("#percumalaporpolisi", ("percuma", "lapor", "polisi")),
        ("#PercumaLaporPolisi", ("percuma", "lapor", "polisi")),
        ("#usuttuntas", ("usut", "tuntas")),
        ("#BPJSKesehatan", ("bpjs", "kesehatan")),
    ],
)
def test_hashtags_keep_their_words(tag: str, expected: tuple[str, ...]) -> None:
    assert split_hashtag(tag) == expected
    assert " ".join(expected) in " ".join(words(f"capek {tag}"))


def test_run_together_hashtag_without_hash_is_split_but_names_are_not() -> None:
    assert "percuma" in words("sudah kuduga percumalaporpolisi")
    assert words("buka kaiaccess lagi")[:3] == ["buka", "kai", "access"]
    assert stem("ngambil") == "ambil" and stem("dijelasin") == "jelas"  # colloquial forms
    assert "suryalaya" in words("di jalan suryalaya")  # an unknown name stays whole


@pytest.mark.parametrize(
    ("word", "expected"),
    [("bangeeet", "banget"), ("tolonggg", "tolong"), ("maaaaf", "maaf"), ("lamaaaa", "lama")],
)
def test_elongations_are_undone(word: str, expected: str) -> None:
    assert normalize_word(word)[0] == expected


@pytest.mark.parametrize("slang", ["gak", "ga", "gk", "nggak", "ngga", "enggak", "tdk", "kagak"])
def test_negation_slang_becomes_tidak(slang: str) -> None:
    assert words(f"aplikasi {slang} bisa dibuka")[:3] == ["aplikasi", "tidak", "bisa"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("udh 3 bulan", ["sudah", "angka", "bulan"]),
        ("tp lama bgt", ["tapi", "lama", "banget"]),
        ("min tolong", ["admin", "tolong"]),
        ("kak mau tanya", ["kakak", "mau", "tanya"]),
        ("gasuka sama update", ["tidak", "suka", "sama", "update"]),
        ("aren't we already pay taxes", ["aren't", "we", "already", "bayar", "pajak"]),
    ],
)
def test_slang_and_abbreviations(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_yg_is_expanded_then_dropped_as_a_stopword() -> None:
    assert words("petugas yg galak") == ["tugas", "galak"]


def test_word_classes_are_added_beside_the_word() -> None:
    assert normalize("petugas galak") == "tugas kls_publik galak kls_negatif"
    assert "kls_kasar" in normalize("dasar goblok")


def test_negations_survive_stopword_removal() -> None:
    got = words("tidak bisa, belum jadi, bukan salah saya, jangan diulang")
    for negation in ("tidak", "belum", "bukan", "jangan"):
        assert negation in got
    assert not {"tidak", "belum", "bukan", "jangan", "tanpa", "kurang"} & STOPWORDS


def test_emoji_numbers_urls_mentions_and_placeholders() -> None:
    got = words("bayar 200rb ke [NIK] 😡😭 @pln_123 https://t.co/abc ?!!")
    assert got == ["bayar", "angka", "ribu", "ent_nik", "emo_marah", "emo_sedih", "@pln_123",
                   "tautan", "tanya_q"]


def test_reduplication_and_superscript_two() -> None:
    assert words("surat2 hidup²") == ["surat", "hidup"]


def test_shouting_is_marked() -> None:
    assert words("PELAYANAN BURUK SEKALI HARI INI")[-1] == "huruf_kapital"
    assert "huruf_kapital" not in words("Pelayanan buruk sekali hari ini")


def test_token_spans_point_into_the_text() -> None:
    text = "Listrik  padam 😡 sejak sore #PLN @pln_123"
    for token in tokenize(text):
        assert text[token.start : token.end].strip() == text[token.start : token.end]
        assert text[token.start : token.end]


def test_stems() -> None:
    assert [stem(w) for w in ["menulis", "pelayanan", "ditolak", "pengaduan", "kebijakan"]] == [
        "tulis", "layan", "tolak", "adu", "bijak"]
    assert stem("suryalaya") == "suryalaya"  # no root reachable: left alone, Sastrawi not run


def test_fast_stems_agree_with_sastrawi_on_the_seed_corpus() -> None:
    """Same stems as Sastrawi, except colloquial forms it leaves alone and we strip on purpose
    (ngambil -> ambil, dijelasin -> jelas)."""
    colloquial = re.compile(r"^n|in(?:nya|lah)?$")
    vocabulary = set()
    for path in sorted(SEED_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            vocabulary.update(re.findall(r"[a-z]{4,}", json.loads(line)["text"].lower()))
    standard = sorted(w for w in vocabulary if not colloquial.search(w))
    sample = random.Random(4).sample(standard, min(600, len(standard)))
    agree = sum(stem(w) == _stemmer().stem(w) for w in sample)
    assert agree / len(sample) >= 0.98


def test_lexicon_is_lowercase_and_its_classes_are_known() -> None:
    for key, value in SLANG.items():
        assert key == key.lower() and value == value.lower(), key
    assert {tag.split("_")[0] for tag in WORD_CLASSES.values()} == {"kls"}


def test_normalize_is_total() -> None:
    for text in ["", "   ", "😡", "???", "[NIK]", "a" * 500, "ÄÖÜ ñ", "\n\t"]:
        assert isinstance(normalize(text), str)

"""Grouping posts into cases: exact and near duplicates, structure, the window, merges."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
from datasketch import MinHash

from triage.dedupe import CaseIndex, canonical_url
from triage.minhash import MinHasher, jaccard, normalize_text, shingles
from triage.records import Post

T0 = datetime(2026, 11, 22, 1, 0, tzinfo=timezone.utc)
PLN = ("Listrik padam lagi di Bekasi Timur sejak jam 5 pagi, sudah 6 jam belum ada petugas "
       "datang, kulkas warga rusak semua. Tolong ditindaklanjuti")
ROAD = "Jalan rusak parah di Cianjur sudah tiga bulan tidak pernah diperbaiki pemda, motor jatuh"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_normaliser_drops_retweet_prefix_mentions_links_and_elongation() -> None:
    raw = "RT @warga_bks: Listrik PADAM lagiii!!! @PLN_123 https://t.co/xyz #bekasi"
    assert normalize_text(raw) == "listrik padam lagi bekasi"


def test_signatures_equal_datasketch_minhash() -> None:
    grams = shingles(normalize_text(PLN))
    reference = MinHash(num_perm=64, seed=1, hashfunc=int)
    reference.update_batch(grams.tolist())
    assert np.array_equal(MinHasher(64).signature(grams), reference.hashvalues)
    assert np.array_equal(grams, shingles(normalize_text(PLN)))  # deterministic


def test_jaccard_and_containment() -> None:
    a = shingles(normalize_text(PLN))
    b = shingles(normalize_text(PLN[:80]))
    jac, contained = jaccard(a, b)
    assert jac < 0.7 and contained == 1.0
    assert jaccard(a, a) == (1.0, 1.0)


def test_copies_retweets_typos_and_truncations_join_one_case() -> None:
    index = CaseIndex()
    case = index.assign("x:1", PLN, at(0))
    variants = [
        f"RT @warga_bks: {PLN}",
        f"@PLN_123 @kemenESDM {PLN} https://t.co/aaa",
        PLN.replace("padam", "padm").replace("petugas", "ptugas").replace("warga", "wrga"),
        PLN[:70] + "…",
        PLN.upper(),
    ]
    for i, text in enumerate(variants, start=2):
        assert index.assign(f"x:{i}", text, at(i)) == case, text
    assert index.assign("x:9", ROAD, at(10)) != case


def test_short_texts_never_join_by_text() -> None:
    index = CaseIndex()
    assert index.assign("x:1", "mantap min", at(0)) != index.assign("x:2", "mantap min", at(1))


def test_reply_quote_conversation_and_shared_url_join_a_case() -> None:
    index = CaseIndex()
    root = index.assign("x:100", PLN, at(0))
    assert index.assign("x:101", "setuju, di rumah saya juga", at(1), reply_to_id="100") == root
    assert index.assign("x:102", "ini parah banget sih min", at(2), quote_of_id="100") == root
    assert index.assign("x:103", "lanjut", at(3), conversation_id="100") == root
    assert index.assign("x:104", "cek https://x.com/warga/status/100", at(4)) == root
    # Replies to a post we never saw still meet each other.
    first = index.assign("x:200", "sama di sini", at(5), reply_to_id="999")
    assert index.assign("x:201", "saya juga kena", at(6), reply_to_id="999") == first
    news = index.assign("x:300", "berita: https://detik.com/berita/d-123/listrik-padam?utm_source=x", at(7))
    assert index.assign("x:301", "baca https://www.detik.com/berita/d-123/listrik-padam/", at(8)) == news
    # A homepage says nothing about an incident.
    assert index.assign("x:302", "lapor di https://lapor.go.id", at(9)) != index.assign(
        "x:303", "coba ke https://lapor.go.id/", at(10))


def test_canonical_urls() -> None:
    assert canonical_url("https://www.Detik.com/a/b/?utm_source=tw&id=3") == "detik.com/a/b?id=3"
    assert canonical_url("https://lapor.go.id/") is None
    assert canonical_url("not a url") is None


def test_nothing_joins_across_the_window_and_old_entries_expire() -> None:
    index = CaseIndex(window=timedelta(hours=24))
    first = index.assign("x:1", PLN, at(0))
    assert index.assign("x:2", PLN, at(60 * 30)) != first  # 30 hours later: a new incident
    for i in range(200):  # a month of other posts
        index.assign(f"x:{10 + i}", f"{ROAD} nomor {i} {'abcdefghij'[i % 10] * 3}", at(60 * 30 + i * 240))
    assert len(index) <= 7  # only the last 24 hours are kept (one post per 4 hours)
    assert index.case_of("x:1") is None


def test_a_post_tying_two_cases_merges_the_younger_into_the_older() -> None:
    merged = []
    index = CaseIndex(on_merge=lambda younger, older: merged.append((younger, older)))
    a = index.assign("x:1", PLN, at(0))
    b = index.assign("x:2", ROAD, at(1))
    c = index.assign("x:3", ROAD, at(2), reply_to_id="1")  # same text as b, replies to a
    assert c == a and merged == [(b, a)] and index.merges == 1
    assert index.case_of("x:2") == a and index.resolve(b) == a


def test_assign_is_idempotent_and_rebuild_gives_the_same_cases() -> None:
    posts = [
        Post(platform="x", post_id=str(i), text=text, created_at=at(i), reply_to_id=reply)
        for i, (text, reply) in enumerate([(PLN, None), (ROAD, None), (f"RT @a: {PLN}", None),
                                           ("ikut kena juga", "1"), (ROAD[:60], None)])
    ]
    live = CaseIndex()
    cases = [live.assign_post(p) for p in posts]
    assert live.assign_post(posts[0]) == cases[0]
    rebuilt = CaseIndex.rebuild(reversed(posts))
    assert [rebuilt.case_of(p.key) for p in posts] == [live.case_of(p.key) for p in posts]
    assert cases[0] == cases[2] != cases[1] == cases[3] == cases[4]


def test_adopted_posts_keep_their_stored_case_and_merge_with_matching_ones() -> None:
    text = "Jembatan gantung di Desa Sukamaju ambruk pagi ini, tiga anak jatuh ke sungai, tolong PU"
    merges: list[tuple[str, str]] = []
    index = CaseIndex(on_merge=lambda younger, older: merges.append((younger, older)))
    # another worker grouped x:1 into its own case; this index has not seen x:1
    assert index.assign("x:1", text, T0, case_key="case:x:1") == "case:x:1"
    assert index.assign("x:1", text, T0, case_key="case:x:1") == "case:x:1"  # idempotent
    assert index.assign("x:2", text + " 😡", T0 + timedelta(minutes=5)) == "case:x:1"
    # a third post that another worker had put in a younger case of its own: one incident
    assert index.assign("x:3", text + " parah", T0 + timedelta(minutes=9), case_key="case:x:3") == "case:x:1"
    assert merges == [("case:x:3", "case:x:1")]
    # an unrelated post keeps the case it was given
    assert index.assign("x:4", "antrean paspor penuh dari subuh di kantor imigrasi", T0,
                       case_key="case:x:0") == "case:x:0"

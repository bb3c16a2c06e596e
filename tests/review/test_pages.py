"""The review pages through HTTP: login, roles, CSRF, hostile text, raw-text audit, actions,
filters and pagination, on a real SQLite database."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from fastapi import FastAPI
from sqlalchemy import func, insert, select

import review
from pipelines.settings import SettingsError
from pipelines.store import schema as s
from pipelines.users import ROLES, set_disabled, set_password
from review.auth import LOGIN_LIMIT, PERMISSIONS, SESSION_COOKIE
from review.render import highlight
from tests.conftest import FrozenClock, make_context
from tests.review.conftest import TestClient, csrf_of, log_in
from tests.review.factory import FAST_HASHER, add_post

SCHEMA = json.loads((Path(__file__).parents[2] / "pipelines/schemas/queue-item-1.schema.json").read_text())
HOSTILE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2"> listrik padam "kok" & lama'


def rows(ctx, table) -> list:  # noqa: ANN001
    with ctx.engine.connect() as conn:
        return [r._mapping for r in conn.execute(select(table))]


# --- startup, login, sessions ------------------------------------------------------------------
def test_missing_secret_key_is_a_clear_startup_error(tmp_path: Path) -> None:
    ctx = make_context(f"sqlite:///{tmp_path / 'x.db'}", tmp_path, FrozenClock(), secret_key="")
    with pytest.raises(SettingsError, match="PANTAU_SECRET_KEY"):
        review.mount(FastAPI(), ctx)


def test_permission_table_covers_every_role() -> None:
    assert set(PERMISSIONS) == set(ROLES)
    assert [r for r in ROLES if "lihat_teks_asli" in PERMISSIONS[r]] == ["analis", "admin"]


@pytest.mark.parametrize("path", ["/", "/posts/1", "/ringkasan", "/sumber", "/?substansi=listrik"])
def test_every_page_requires_login(anon: TestClient, path: str) -> None:
    response = anon.get(path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/masuk")


def test_actions_require_login(anon: TestClient, ctx) -> None:  # noqa: ANN001
    pk = add_post(ctx.engine, text="lampu jalan mati", now=ctx.clock())
    for action in ("label", "teruskan", "tolak", "tugaskan", "catatan", "teks-asli"):
        response = anon.post(f"/posts/{pk}/{action}", data={"csrf_token": "x"}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/masuk"
    assert rows(ctx, s.reviews) == []


def test_login_sets_a_hardened_cookie_and_logout_ends_the_session(app: FastAPI, users: dict) -> None:
    client = TestClient(app, base_url="https://testserver")
    page = client.get("/masuk?lanjut=/ringkasan")
    response = client.post("/masuk", data={"csrf_token": csrf_of(page.text), "nama": "rina",
                                            "sandi": "kata-sandi-uji-123", "lanjut": "/ringkasan"},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/ringkasan"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
    stolen = client.cookies.get(SESSION_COOKIE)
    token = csrf_of(client.get("/").text)
    assert client.post("/keluar", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    replay = TestClient(app, base_url="https://testserver", cookies={SESSION_COOKIE: stolen})
    assert replay.get("/", follow_redirects=False).status_code == 303  # logged out everywhere


def test_disabling_a_user_or_resetting_the_password_ends_open_sessions(app: FastAPI, ctx, users) -> None:  # noqa: ANN001
    def logged_in_client() -> TestClient:
        client = TestClient(app, base_url="https://testserver")
        log_in(client, "rina")
        assert client.get("/", follow_redirects=False).status_code == 200
        return client

    client = logged_in_client()
    set_disabled(ctx.engine, "rina", True, now=ctx.clock())
    assert client.get("/", follow_redirects=False).status_code == 303  # sent to the login page
    page = client.get("/masuk")
    refused = client.post("/masuk", data={"csrf_token": csrf_of(page.text), "nama": "rina",
                                           "sandi": "kata-sandi-uji-123", "lanjut": "/"},
                          follow_redirects=False)
    assert refused.status_code != 303
    set_disabled(ctx.engine, "rina", False, now=ctx.clock())
    client = logged_in_client()
    set_password(ctx.engine, "rina", "sandi-baru-yang-panjang", now=ctx.clock(), hasher=FAST_HASHER)
    assert client.get("/", follow_redirects=False).status_code == 303
    log_in(TestClient(app, base_url="https://testserver"), "rina", "sandi-baru-yang-panjang")


def test_wrong_password_is_refused_in_indonesian_and_rate_limited(app: FastAPI, ctx, users) -> None:  # noqa: ANN001
    client = TestClient(app, base_url="https://testserver", client=("10.0.0.7", 5000))
    for _ in range(LOGIN_LIMIT):
        page = client.get("/masuk")
        response = client.post("/masuk", data={"csrf_token": csrf_of(page.text), "nama": "rina",
                                                "sandi": "salah-sekali-123"})
        assert response.status_code == 401 and "kata sandi salah" in response.text
    page = client.get("/masuk")
    blocked = client.post("/masuk", data={"csrf_token": csrf_of(page.text), "nama": "rina",
                                           "sandi": "kata-sandi-uji-123"})
    assert blocked.status_code == 429 and "Terlalu banyak percobaan" in blocked.text
    # another address is not blocked; the blocked one may try again after the window
    other = TestClient(app, base_url="https://testserver", client=("10.0.0.8", 5000))
    log_in(other, "rina")
    ctx.clock.advance(minutes=16)
    log_in(client, "rina")
    failures = [r for r in rows(ctx, s.audit_log) if r["action"] == "login.gagal"]
    assert len(failures) == LOGIN_LIMIT and all("10.0.0.7" not in json.dumps(dict(r), default=str)
                                                for r in failures)


def test_login_without_csrf_and_open_redirects_are_refused(anon: TestClient, users) -> None:  # noqa: ANN001
    assert anon.post("/masuk", data={"nama": "rina", "sandi": "kata-sandi-uji-123"}).status_code == 403
    page = anon.get("/masuk")
    response = anon.post("/masuk", data={"csrf_token": csrf_of(page.text), "nama": "rina",
                                          "sandi": "kata-sandi-uji-123", "lanjut": "//evil.example/x"},
                         follow_redirects=False)
    assert response.headers["location"] == "/"


def test_expired_or_forged_sessions_are_refused(app: FastAPI, ctx, client_for) -> None:  # noqa: ANN001
    client, _ = client_for("rina")
    forged = client.cookies.get(SESSION_COOKIE)[:-3] + "abc"
    assert TestClient(app, base_url="https://testserver", cookies={SESSION_COOKIE: forged}) \
        .get("/", follow_redirects=False).status_code == 303
    ctx.clock.advance(hours=13)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_pages_send_security_headers(client_for) -> None:  # noqa: ANN001
    client, _ = client_for("rina")
    for path in ("/", "/masuk", "/ringkasan", "/sumber"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"


# --- CSRF and hostile text -------------------------------------------------------------------
def test_posts_without_a_valid_csrf_token_are_refused(client_for, ctx) -> None:  # noqa: ANN001
    pk = add_post(ctx.engine, text="lampu jalan mati", now=ctx.clock())
    client, token = client_for("budi")
    form = {"kind": "aduan", "substance": "infrastruktur", "maladministration": "tidak_ada"}
    for bad in ({}, {"csrf_token": ""}, {"csrf_token": token[:-2] + "xx"}):
        response = client.post(f"/posts/{pk}/label", data={**form, **bad})
        assert response.status_code == 403 and "token keamanan tidak cocok" in response.text
    assert client.post(f"/posts/{pk}/teruskan", data={}).status_code == 403
    assert client.post("/keluar", data={}).status_code == 403
    assert rows(ctx, s.reviews) == [] and rows(ctx, s.queue_items) == []
    other, _ = client_for("rina")  # another user's token is no good either
    assert other.post(f"/posts/{pk}/label", data={**form, "csrf_token": token}).status_code == 403


def test_hostile_post_text_is_shown_as_text(client_for, ctx) -> None:  # noqa: ANN001
    pk = add_post(ctx.engine, text=HOSTILE, now=ctx.clock(), evidence=("<img src=x", "listrik padam"))
    client, _ = client_for("rina")
    for path in ("/", f"/posts/{pk}", "/?cari=listrik"):
        page = client.get(path).text
        assert "<script>window" not in page and "<img src=x" not in page and "onerror=\"window" not in page
        assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in page
    detail = client.get(f"/posts/{pk}").text
    assert "<mark>&lt;img src=x</mark>" in detail and "<mark>listrik padam</mark>" in detail


def test_highlight_escapes_every_piece() -> None:
    out = str(highlight('a <b>"x"</b> & amp;', ["<b>", "amp", "nothing"]))
    assert out == 'a <mark>&lt;b&gt;</mark>&#34;x&#34;&lt;/b&gt; &amp; <mark>amp</mark>;'
    assert str(highlight("<i>", [])) == "&lt;i&gt;"


# --- raw text and roles --------------------------------------------------------------------------
def test_reviewer_never_sees_raw_text_or_handles(client_for, ctx) -> None:  # noqa: ANN001
    raw = "Bu Sulastri NIK 3171234567890123 listrik padam"
    pk = add_post(ctx.engine, text="Bu [NAMA] NIK [NIK] listrik padam", raw_text=raw, now=ctx.clock(),
                  handle="sulastri_wr")
    client, token = client_for("rina")
    page = client.get(f"/posts/{pk}").text
    assert "3171234567890123" not in page and "sulastri" not in page.lower()
    assert "teks-asli" not in page and "https://x.com/i/web/status/" in page
    refused = client.post(f"/posts/{pk}/teks-asli", data={"csrf_token": token})
    assert refused.status_code == 403 and "tidak berhak melihat teks asli" in refused.text
    assert "3171234567890123" not in refused.text
    audit = [r for r in rows(ctx, s.audit_log) if r["target"] == f"post:{pk}"]
    assert [(r["actor"], r["action"]) for r in audit] == [("rina", "teks_asli.ditolak")]


def test_raw_text_view_is_audited_for_analysts(client_for, ctx) -> None:  # noqa: ANN001
    raw = "Bu Sulastri NIK 3171234567890123 listrik padam"
    pk = add_post(ctx.engine, text="Bu [NAMA] NIK [NIK] listrik padam", raw_text=raw, now=ctx.clock())
    client, token = client_for("budi")
    page = client.get(f"/posts/{pk}").text
    assert "3171234567890123" not in page and "Tampilkan teks asli" in page  # only on request
    shown = client.post(f"/posts/{pk}/teks-asli", data={"csrf_token": token})
    assert shown.status_code == 200 and html.escape(raw) in shown.text
    audit = [r for r in rows(ctx, s.audit_log) if r["action"] == "teks_asli.lihat"]
    assert [(r["actor"], r["target"]) for r in audit] == [("budi", f"post:{pk}")]
    assert "3171234567890123" not in json.dumps([dict(r) for r in rows(ctx, s.audit_log)], default=str)


# --- actions ----------------------------------------------------------------------------------------
def test_label_correction_is_stored_as_human_labels(client_for, ctx) -> None:  # noqa: ANN001
    pk = add_post(ctx.engine, text="token listrik gagal terus", now=ctx.clock())
    client, token = client_for("rina")
    response = client.post(f"/posts/{pk}/label", data={
        "csrf_token": token, "kind": "aduan", "substance": "energi", "maladministration": "tidak_kompeten"},
        follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/posts/{pk}?ok=label"
    stored = {(r["action"], r["field"], r["value"]) for r in rows(ctx, s.reviews)}
    assert stored == {("label", "kind", "aduan"), ("label", "substance", "energi"),
                      ("label", "maladministration", "tidak_kompeten")}
    page = client.get(f"/posts/{pk}?ok=label").text
    assert "Label tersimpan" in page and "dikoreksi: Energi" in page
    assert "Energi <small>dikoreksi</small>" in client.get("/").text


def test_invalid_labels_get_indonesian_messages(client_for, ctx) -> None:  # noqa: ANN001
    pk = add_post(ctx.engine, text="berita hari ini", now=ctx.clock())
    client, token = client_for("rina")
    bad = client.post(f"/posts/{pk}/label", data={"csrf_token": token, "kind": "lainnya",
                                                  "substance": "none", "maladministration": "berpihak"})
    assert bad.status_code == 400 and "hanya diisi untuk aduan" in bad.text
    unknown = client.post(f"/posts/{pk}/label", data={"csrf_token": token, "kind": "keluhan",
                                                      "substance": "none", "maladministration": "tidak_ada"})
    assert unknown.status_code == 400 and "Pilih label jenis dari daftar" in unknown.text
    assert client.post("/posts/999999/label", data={"csrf_token": token}).status_code == 404
    assert rows(ctx, s.reviews) == []


def _case_of_two(ctx) -> tuple[int, int, int]:  # noqa: ANN001
    """A P1 pungli post (the case's lead) and a copy in its case: (lead, copy, case id)."""
    lead = add_post(ctx.engine, text="pungli di loket samsat 200rb", now=ctx.clock(), tier="P1",
                    priority=0.9, maladministration="permintaan_imbalan", substance="pajak")
    case_id = rows(ctx, s.posts)[0]["case_id"]
    copy = add_post(ctx.engine, text="pungli di loket samsat 200rb!", now=ctx.clock(), case_id=case_id)
    return lead, copy, case_id


def test_escalation_enqueues_one_contract_item(client_for, ctx) -> None:  # noqa: ANN001
    lead, copy, case_id = _case_of_two(ctx)
    client, token = client_for("rina")
    client.post(f"/posts/{copy}/label", data={"csrf_token": token, "kind": "aduan", "substance": "pajak",
                                              "maladministration": "penyalahgunaan_wewenang"})
    response = client.post(f"/posts/{copy}/teruskan", data={"csrf_token": token})
    assert "diteruskan ke antrean" in response.text
    (item,) = rows(ctx, s.queue_items)
    lead_post = next(r for r in rows(ctx, s.posts) if r["id"] == lead)
    assert item["idempotency_key"] == f"x:{lead_post['post_id']}" and item["revision"] == 1
    assert item["status"] == "ready" and item["case_id"] == case_id
    jsonschema.validate(item["payload"], SCHEMA)
    copy_post = next(r for r in rows(ctx, s.posts) if r["id"] == copy)
    assert item["payload"]["post"]["url"] == f"https://x.com/i/web/status/{copy_post['post_id']}"
    assert "warga_biasa" not in json.dumps(item["payload"])  # no handle of the author
    mal = item["payload"]["triage"]["maladministration"]
    assert mal["label"] == "penyalahgunaan_wewenang" and mal["score"] == 1.0  # the human's label
    again = client.post(f"/posts/{lead}/teruskan", data={"csrf_token": token})
    assert "sudah ada di antrean" in again.text and len(rows(ctx, s.queue_items)) == 1
    assert client.get("/?status=diteruskan").text.count('class="baris"') == 2
    assert [r["action"] for r in rows(ctx, s.reviews)].count("escalate") == 2


def test_escalation_continues_the_revisions_of_the_key(client_for, ctx) -> None:  # noqa: ANN001
    pk = add_post(ctx.engine, text="jalan berlubang di depan sekolah", now=ctx.clock())
    post = rows(ctx, s.posts)[0]
    with ctx.engine.begin() as conn:  # an older revision of the key, already superseded
        conn.execute(insert(s.queue_items).values(
            item_id="00000000-0000-4000-8000-000000000001", idempotency_key=f"x:{post['post_id']}",
            revision=1, case_id=None, post_pk=pk, tier="P3", priority_score=0.3, payload={},
            enqueued_at=ctx.clock(), status="superseded", available_at=ctx.clock()))
    client, token = client_for("rina")
    client.post(f"/posts/{pk}/teruskan", data={"csrf_token": token})
    assert sorted(r["revision"] for r in rows(ctx, s.queue_items)) == [1, 2]


def test_dismissing_the_queued_post_tells_the_queue_and_a_copy_does_not(client_for, ctx) -> None:  # noqa: ANN001
    lead, copy, case_id = _case_of_two(ctx)
    client, token = client_for("rina")
    client.post(f"/posts/{lead}/teruskan", data={"csrf_token": token})
    duplicate = client.post(f"/posts/{copy}/tolak", data={"csrf_token": token, "alasan": "duplikat"})
    assert "alasannya tercatat." in duplicate.text and len(rows(ctx, s.queue_items)) == 1
    closed = client.post(f"/posts/{lead}/tolak", data={"csrf_token": token, "alasan": "sudah_ditangani",
                                                       "keterangan": "sudah dibalas via DM"})
    assert "diberi tahu bahwa kasus ini ditutup" in closed.text
    first, second = sorted(rows(ctx, s.queue_items), key=lambda r: r["revision"])
    assert (first["status"], second["status"], second["decision"]) == ("superseded", "ready", "dismissed")
    assert second["payload"]["review"]["reason"] == "sudah_ditangani"
    assert "DM" not in json.dumps(second["payload"])
    jsonschema.validate(second["payload"], SCHEMA)
    # the copy is no longer "diteruskan": the only live item tells the queue to close the case
    assert client.get("/?status=diteruskan").text.count('class="baris"') == 0
    assert client.get("/?status=ditolak").text.count('class="baris"') == 2
    detail = client.get(f"/posts/{copy}").text
    assert "revisi 2 (pemberitahuan: kasus ditolak) · menunggu diambil sistem antrean" in detail
    assert "revisi 1 · digantikan revisi yang lebih baru" in detail


def test_the_contract_lists_every_dismissal_reason_and_queue_state() -> None:
    from pipelines.queue import STATUSES
    from review.actions import DISMISS_REASONS
    from review.render import QUEUE_STATUS

    assert SCHEMA["properties"]["review"]["properties"]["reason"]["enum"] == list(DISMISS_REASONS)
    assert set(QUEUE_STATUS) == set(STATUSES)


def test_dismiss_assign_and_note(client_for, ctx) -> None:  # noqa: ANN001
    pk = add_post(ctx.engine, text="promo pulsa murah", now=ctx.clock(), kind="lainnya")
    client, token = client_for("rina")
    missing = client.post(f"/posts/{pk}/tolak", data={"csrf_token": token, "alasan": "lainnya"})
    assert missing.status_code == 400 and "Tuliskan keterangan" in missing.text
    client.post(f"/posts/{pk}/tolak", data={"csrf_token": token, "alasan": "spam"})
    nobody = client.post(f"/posts/{pk}/tugaskan", data={"csrf_token": token, "petugas": "hantu"})
    assert nobody.status_code == 400 and "rekan kerja" in nobody.text
    client.post(f"/posts/{pk}/tugaskan", data={"csrf_token": token, "petugas": "budi"})
    assert client.post(f"/posts/{pk}/catatan", data={"csrf_token": token, "catatan": "  "}).status_code == 400
    client.post(f"/posts/{pk}/catatan", data={"csrf_token": token, "catatan": "cek <b>besok</b>"})
    stored = [(r["action"], r["value"]) for r in rows(ctx, s.reviews)]
    assert stored == [("dismiss", "spam"), ("assign", "budi"), ("note", "cek <b>besok</b>")]
    page = client.get(f"/posts/{pk}").text
    assert "cek &lt;b&gt;besok&lt;/b&gt;" in page and "Ditolak" in page
    note_audit = [r for r in rows(ctx, s.audit_log) if r["action"] == "review.note"]
    assert note_audit[0]["detail"] == {"length": 16}  # the note itself stays out of the audit log


def test_suggested_reply_is_built_from_templates_only(client_for, ctx) -> None:  # noqa: ANN001
    pk = add_post(ctx.engine, text="petugas minta uang pelicin [NAMA] 081234567890",
                  raw_text="petugas Pak Joko minta uang pelicin 081234567890", now=ctx.clock(),
                  maladministration="permintaan_imbalan", substance="administrasi_kependudukan",
                  agency_id="dukcapil")
    client, _ = client_for("budi")
    page = client.get(f"/posts/{pk}").text
    found = re.search(r'<textarea id="saran-balasan"[^>]*>(.*?)</textarea>', page, re.S)
    reply = html.unescape(found.group(1))
    assert "tidak memungut biaya" in reply and "Dukcapil" in reply
    assert "Joko" not in reply and "0812" not in reply and "pelicin" not in reply


# --- inbox: filters and pages ---------------------------------------------------------------------
@pytest.fixture
def many(ctx) -> dict[str, int]:  # noqa: ANN001
    now = ctx.clock()
    out = {
        "dukcapil": add_post(ctx.engine, text="KTP belum jadi 3 bulan", now=now, agency_id="dukcapil",
                             substance="administrasi_kependudukan", maladministration="penundaan_berlarut",
                             tier="P1", priority=0.95, age=timedelta(days=4)),
        "question": add_post(ctx.engine, text="cara ganti nomor hp di aplikasi 50%_off?", now=now,
                             kind="pertanyaan", maladministration="tidak_ada", tier="P4", priority=0.05,
                             platform="reddit"),
    }
    for i in range(118):
        add_post(ctx.engine, text=f"listrik padam wilayah {i}", now=now, priority=0.1 + i / 1000,
                 tier="P3", age=timedelta(minutes=i))
    return out


def _rows(page: str) -> list[str]:
    return re.findall(r'data-post="(\d+)"', page)


def test_inbox_filters(client_for, many) -> None:  # noqa: ANN001
    client, _ = client_for("rina")
    assert _rows(client.get("/?instansi=dukcapil").text) == [str(many["dukcapil"])]
    dukcapil = [str(many["dukcapil"])]
    assert _rows(client.get("/?substansi=administrasi_kependudukan&tingkat=P1").text) == dukcapil
    assert _rows(client.get("/?maladministrasi=penundaan_berlarut").text) == [str(many["dukcapil"])]
    assert _rows(client.get("/?jenis=pertanyaan").text) == [str(many["question"])]
    assert _rows(client.get("/?platform=reddit").text) == [str(many["question"])]
    assert _rows(client.get("/?cari=50%25_off").text) == [str(many["question"])]  # % and _ literal
    assert _rows(client.get("/?cari=50%25x").text) == []
    assert _rows(client.get("/?dari=2026-11-17&sampai=2026-11-18").text) == [str(many["dukcapil"])]
    assert "120 unggahan" in client.get("/?status=baru").text
    assert "0 unggahan" in client.get("/?status=ditolak").text


def test_invalid_filters_get_indonesian_messages(client_for, many) -> None:  # noqa: ANN001
    client, _ = client_for("rina")
    response = client.get("/?substansi=narkoba&dari=kemarin&tingkat=P9")
    assert response.status_code == 400
    for text in ("Substansi: nilai yang dipilih tidak dikenal", "Tingkat prioritas: nilai",
                 "Tanggal awal: gunakan format tanggal TTTT-BB-HH"):
        assert text in response.text
    order = client.get("/?dari=2026-11-20&sampai=2026-11-01")
    assert order.status_code == 400 and "Tanggal awal harus sebelum" in order.text


def test_inbox_pages_by_priority_without_gaps(client_for, many) -> None:  # noqa: ANN001
    client, _ = client_for("rina")
    seen: list[str] = []
    pages = []
    url = "/?jenis=aduan"
    while url:
        page = client.get(url).text
        pages.append(page)
        seen += _rows(page)
        match = re.search(r'href="([^"]+)" rel="next"', page)
        url = html.unescape(match.group(1)) if match else None
    assert [len(_rows(p)) for p in pages] == [50, 50, 19]
    assert len(seen) == len(set(seen)) == 119 and seen[0] == str(many["dukcapil"])
    assert "jenis=aduan" in re.search(r'href="([^"]+)" rel="next"', pages[1]).group(1)
    back = html.unescape(re.search(r'href="([^"]+)" rel="prev"', pages[2]).group(1))
    assert _rows(client.get(back).text) == _rows(pages[1])
    assert "lewat batas" in pages[0]  # the 4-day-old complaint is past the 3-day limit


def test_dashboard_and_sources(client_for, ctx, many) -> None:  # noqa: ANN001
    client, token = client_for("rina")
    client.post(f"/posts/{many['dukcapil']}/catatan", data={"csrf_token": token, "catatan": "cek"})
    with ctx.engine.begin() as conn:
        conn.execute(insert(s.collector_runs).values(
            source="x", started_at=ctx.clock() - timedelta(minutes=30), finished_at=ctx.clock(),
            status="rate_limited", pages=3, posts_fetched=250, posts_new=200,
            rate_limited_until=ctx.clock() + timedelta(minutes=10)))
    page = client.get("/ringkasan?hari=14").text
    assert "Pencatatan Sipil (Dukcapil)" in page and "Administrasi kependudukan" in page
    assert "aduan lewat batas 3 hari tanpa tindakan" in page
    assert client.get("/ringkasan?hari=9").status_code == 400
    sources = client.get("/sumber").text
    assert "X (Twitter)" in sources and "Dibatasi sampai" in sources and "bulan ini: 250" in sources
    with ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(s.reviews)).scalar_one() == 1


def test_sources_page_shows_the_schedule_and_budgets_the_collectors_use(tmp_path: Path) -> None:
    """/sumber read a schedule and a quota from keys no collector knows (`monthly_quota`, which
    the collectors even refuse): it now shows what `pantau sources` shows."""
    from pipelines import checkpoints
    from pipelines.budget import MonthlyBudget
    from pipelines.context import AppContext
    from pipelines.schedule import SCHEDULE_SOURCE
    from pipelines.settings import load_settings
    from tests.review.factory import add_user

    (tmp_path / "pantau.toml").write_text(
        "[sources.x]\ninterval_minutes = 20\nmonthly_post_budget = 500\n"
        "[sources.reddit]\nmonthly_request_budget = 1000\n")
    settings = load_settings(
        {"database_url": f"sqlite:///{tmp_path / 'sumber.db'}", "data_dir": str(tmp_path),
         "pseudonym_key": "k", "secret_key": "s", "x_bearer_token": "t", "reddit_client_id": "i",
         "reddit_client_secret": "c"}, env={}, config_path=tmp_path / "pantau.toml")
    ctx = AppContext(settings, clock=FrozenClock())
    try:
        now = ctx.clock()
        add_user(ctx.engine, "rina", "peninjau", now)
        MonthlyBudget(ctx.engine, "x", 500, ctx.clock).consume(50)
        MonthlyBudget(ctx.engine, "reddit", 1000, ctx.clock).consume(7)
        checkpoints.save(ctx.engine, SCHEDULE_SOURCE, "x", (now + timedelta(minutes=12)).isoformat(), now)
        checkpoints.save(ctx.engine, SCHEDULE_SOURCE, "reddit", "paused", now)
        application = FastAPI()
        review.mount(application, ctx, password_hasher=FAST_HASHER)
        client = TestClient(application, base_url="https://testserver")
        log_in(client, "rina")
        page = html.unescape(client.get("/sumber").text)
        assert "tiap 20 menit" in page and "kuota: 50 dari 500 unggahan (10%)" in page
        assert "kuota: 7 dari 1000 permintaan" in page and "Dijeda" in page
        assert "monthly_quota" not in page and "every_minutes" not in page
        (tmp_path / "pantau.toml").write_text("[sources.x]\nmonthly_quota = 500\n")  # unknown key
        broken = AppContext(load_settings(
            {"database_url": f"sqlite:///{tmp_path / 'sumber.db'}", "data_dir": str(tmp_path),
             "pseudonym_key": "k", "secret_key": "s", "x_bearer_token": "t"},
            env={}, config_path=tmp_path / "pantau.toml"), clock=FrozenClock())
        try:
            application = FastAPI()
            review.mount(application, broken, password_hasher=FAST_HASHER)
            client = TestClient(application, base_url="https://testserver")
            log_in(client, "rina")
            response = client.get("/sumber")
            assert response.status_code == 200 and "Konfigurasi sumber tidak valid" in response.text
            assert "monthly_quota" in html.unescape(response.text)  # which key is wrong
        finally:
            broken.close()
    finally:
        ctx.close()


def test_weaker_hashes_are_upgraded_at_login(ctx) -> None:  # noqa: ANN001
    """The production app (default argon2id parameters) upgrades a hash made with weaker ones."""
    from pipelines.users import DEFAULT_HASHER, find_user
    from tests.review.factory import add_user

    add_user(ctx.engine, "lama", "peninjau", ctx.clock())  # cheap test parameters
    app = FastAPI()
    review.mount(app, ctx)
    log_in(TestClient(app, base_url="https://testserver"), "lama")
    upgraded = find_user(ctx.engine, name="lama").password_hash
    assert upgraded.startswith("$argon2id$") and not DEFAULT_HASHER.check_needs_rehash(upgraded)


def test_templates_never_mark_data_safe() -> None:
    folder = Path(review.__file__).parent
    for template in (folder / "templates").glob("*.html"):
        text = template.read_text()
        assert "|safe" not in text.replace(" ", "") and "autoescape false" not in text, template.name
    sources = [p.read_text() for p in folder.rglob("*.py")]
    assert sum(src.count("Markup(") for src in sources) == 1  # only the highlighter, which escapes


@pytest.mark.parametrize(("base_url", "secure"), [("http://127.0.0.1:8000", False),
                                                   ("http://pantau.example", True),
                                                   ("https://pantau.example", True)])
def test_cookies_are_secure_except_plain_http_on_localhost(app: FastAPI, base_url: str, secure: bool) -> None:
    cookie = TestClient(app, base_url=base_url).get("/masuk").headers["set-cookie"].lower()
    assert ("; secure" in cookie) is secure and "httponly" in cookie and "samesite=lax" in cookie

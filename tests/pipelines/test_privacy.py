"""Privacy through the whole pipeline: personal data woven into posts never reaches a queue
item, an export, a derived table or a log line; retention purges raw text and raw pages."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from pipelines.retention import purge_expired, purge_post
from pipelines.run import import_file, triage_stage
from pipelines.store import schema as s
from tests.conftest import make_context

PROVINCES = ["31", "32", "33", "35", "36", "12", "73"]


@st.composite
def nik(draw) -> str:  # noqa: ANN001
    region = (draw(st.sampled_from(PROVINCES)) + f"{draw(st.integers(1, 79)):02d}"
              + f"{draw(st.integers(1, 30)):02d}")
    day = draw(st.integers(1, 28)) + draw(st.sampled_from([0, 40]))
    month, year, serial = draw(st.integers(1, 12)), draw(st.integers(50, 99)), draw(st.integers(1, 9999))
    return f"{region}{day:02d}{month:02d}{year:02d}{serial:04d}"


phone = st.builds(lambda a, b: f"08{a}{b:08d}", st.sampled_from(["12", "13", "21", "57", "77"]),
                  st.integers(0, 10**8 - 1))
email = st.builds(lambda u, d: f"{u}@{d}", st.from_regex(r"[a-z]{4,9}[0-9]{0,3}", fullmatch=True),
                  st.sampled_from(["gmail.com", "yahoo.co.id", "mail.id"]))
name = st.builds(lambda a, b: f"{a} {b}", st.sampled_from(["Siti", "Budi", "Dewi", "Agus", "Rina", "Joko"]),
                 st.sampled_from(["Rahmawati", "Santoso", "Lestari", "Hidayat", "Kurniawan"]))

TEMPLATES = [
    "@ditjendukcapil NIK saya {nik} ditolak di loket, disuruh bayar 200rb biar cepet. hub {phone}",
    "udah 3 bulan KTP blm jadi @ditjendukcapil, nama saya {name}, NIK {nik}, email {email} tolong dibantu",
    "@pln_123 listrik padam dari kemarin, idpel saya di wa {phone}, atas nama {name}. parah bgt",
    "petugas samsat minta uang pelicin 150rb!! laporan atas nama {name}, kontak {email} / {phone}",
]


def _post(i: int, text: str) -> dict:
    return {"platform": "x", "post_id": str(1_900_000_000_000_000_000 + i), "author_id": str(5000 + i),
            "author_handle": f"warga{i}", "text": text, "created_at": "2026-11-21T06:00:00Z",
            "metrics": [{"at": "2026-11-21T07:00:00Z", "reposts": 40 * i, "quotes": 2, "replies": 30,
                         "likes": 300}]}


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(nik(), phone, email, name), min_size=4, max_size=4))
def test_personal_data_never_leaves_redacted(tmp_path_factory, classifier, caplog, values) -> None:  # noqa: ANN001
    tmp = tmp_path_factory.mktemp("privacy")
    from tests.conftest import FrozenClock

    ctx = make_context(f"sqlite:///{tmp / 'p.db'}", tmp, FrozenClock())
    secrets = set()
    lines = []
    for i, ((n, p, e, nm), template) in enumerate(zip(values, TEMPLATES, strict=True)):
        lines.append(json.dumps(_post(i, template.format(nik=n, phone=p, email=e, name=nm))))
        secrets |= {n, p, e, nm}
    source = tmp / "posts.jsonl"
    source.write_text("\n".join(lines) + "\n")
    with caplog.at_level(logging.INFO):
        import_file(ctx, source, "jsonl")
        stage = triage_stage(ctx)
        stage.classifier = classifier
        stage.drain()
    with ctx.engine.connect() as conn:
        derived = [
            json.dumps([list(r) for r in conn.execute(
                select(s.posts.c.redacted_text, s.posts.c.author_pseudonym))]),
            json.dumps([list(r) for r in conn.execute(
                select(s.triage_results.c.labels, s.triage_results.c.reasons))]),
            json.dumps([r for r in conn.execute(select(s.queue_items.c.payload)).scalars()]),
            json.dumps([list(r) for r in conn.execute(select(s.cases.c.signature, s.cases.c.agency_id))]),
        ]
        queued = conn.execute(select(s.queue_items.c.payload)).scalars().all()
    logs = "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
    pages = _review_pages_of_a_reviewer(ctx)
    for secret in secrets:
        for blob in derived + [logs] + pages:
            assert secret not in blob
    assert queued, "complaints with personal data should still be queued, redacted"
    assert any("[NIK]" in item["post"]["text"] for item in queued)
    ctx.close()


def _review_pages_of_a_reviewer(ctx) -> list[str]:  # noqa: ANN001
    """The inbox and every detail page as a `peninjau` (no raw-text permission) sees them."""
    import warnings

    from fastapi import FastAPI

    import review
    from tests.review.conftest import log_in
    from tests.review.factory import FAST_HASHER, add_user

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    app = FastAPI()
    review.mount(app, ctx, password_hasher=FAST_HASHER)
    add_user(ctx.engine, "rina", "peninjau", ctx.clock())
    client = TestClient(app, base_url="https://testserver")
    log_in(client, "rina")
    with ctx.engine.connect() as conn:
        ids = conn.execute(select(s.posts.c.id)).scalars().all()
    pages = [client.get("/").text]
    for pk in ids:
        page = client.get(f"/posts/{pk}")
        assert page.status_code == 200
        pages.append(page.text)
    return pages


def test_retention_purges_raw_text_and_pages_only(app_ctx, clock) -> None:  # noqa: ANN001
    sample = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "files" / "twarc2_search.jsonl"
    import_file(app_ctx, sample, "twarc2")
    clock.advance(days=31)
    report = purge_expired(app_ctx.engine, now=clock(), retention_days=30)
    assert report.posts == 3 and report.raw_pages == 2
    with app_ctx.engine.connect() as conn:
        posts = conn.execute(select(s.posts.c.text, s.posts.c.redacted_text, s.posts.c.author_handle)).all()
        bodies = conn.execute(select(s.raw_pages.c.body)).scalars().all()
    assert all(text is None and handle is None and redacted for text, redacted, handle in posts)
    assert bodies == [None, None]
    assert purge_expired(app_ctx.engine, now=clock(), retention_days=30).posts == 0  # idempotent


def test_recent_posts_survive_and_deleted_post_is_purged_on_request(app_ctx, clock) -> None:  # noqa: ANN001
    sample = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "files" / "twarc2_search.jsonl"
    import_file(app_ctx, sample, "twarc2")
    assert purge_expired(app_ctx.engine, now=clock(), retention_days=30).posts == 0
    purge_post(app_ctx.engine, "x:1860000000000000003", now=clock())
    with app_ctx.engine.connect() as conn:
        texts = dict(conn.execute(select(s.posts.c.post_id, s.posts.c.text)).all())
    assert texts["1860000000000000003"] is None and texts["1860000000000000001"] is not None

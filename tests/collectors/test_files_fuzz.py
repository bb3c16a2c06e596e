"""Hostile input for the importers: malformed CSV/JSONL, invalid UTF-8, huge texts, missing
fields. Every file gives row errors or a clear CollectorError, never a crash, and what was
stored before stays intact."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from collectors.base import CollectorError
from collectors.files import read_pages
from pipelines.run import import_file
from pipelines.store import schema as s

NOW = datetime(2026, 11, 22, 8, tzinfo=timezone.utc)
HEADER = b"conversation_id_str,created_at,favorite_count,full_text,id_str,lang,user_id_str,username\n"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
post_like = st.fixed_dictionaries(
    {},
    optional={"platform": st.sampled_from(["x", "reddit", "file", "fb", 3, None]),
              "post_id": st.one_of(st.text(max_size=12), st.integers()),
              "text": st.one_of(st.text(max_size=200), st.integers(), st.none()),
              "created_at": st.one_of(st.text(max_size=25), st.just("2026-11-20T00:00:00Z")),
              "metrics": st.one_of(st.lists(json_values, max_size=3), json_values)},
)
lines = st.lists(
    st.one_of(post_like.map(lambda d: json.dumps(d).encode()), st.binary(max_size=80),
              json_values.map(lambda v: json.dumps(v).encode())),
    max_size=12,
)


def _read_all(path: Path, fmt: str | None) -> tuple[int, int]:
    posts = errors = 0
    try:
        for page in read_pages(path, fmt, NOW):
            posts += len(page.posts)
            errors += len(page.errors)
    except CollectorError:
        pass  # a clear, whole-file error is an acceptable answer
    return posts, errors


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines)
def test_jsonl_and_twarc2_never_crash(tmp_path: Path, content: list[bytes]) -> None:
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"\n".join(content))
    for fmt in ("jsonl", "twarc2", None):
        _read_all(path, fmt)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400), st.booleans())
def test_csv_never_crashes(tmp_path: Path, body: bytes, with_header: bool) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes((HEADER if with_header else b"") + body)
    _read_all(path, "tweet-harvest")


def test_huge_text_and_missing_fields_are_row_errors_not_crashes(tmp_path: Path) -> None:
    path = tmp_path / "hostile.jsonl"
    huge = {"platform": "x", "post_id": "1", "text": "panjang " * 400_000,
            "created_at": "2026-11-20T00:00:00Z"}
    path.write_text("\n".join([json.dumps(huge), json.dumps({"platform": "x"}), "[1, 2]", '"text"']))
    pages = list(read_pages(path, "jsonl", NOW))
    assert [c.post.post_id for p in pages for c in p.posts] == ["1"]
    assert [e.line for p in pages for e in p.errors] == [2, 3, 4]


def test_bad_file_leaves_stored_data_intact(app_ctx, tmp_path: Path) -> None:  # noqa: ANN001
    good = Path(__file__).resolve().parents[1] / "fixtures" / "files" / "twarc2_search.jsonl"
    import_file(app_ctx, good, "twarc2")

    def snapshot() -> list:
        with app_ctx.engine.connect() as conn:
            return [conn.execute(select(func.count()).select_from(t)).scalar_one()
                    for t in (s.posts, s.raw_pages, s.metric_snapshots)] + \
                   conn.execute(select(s.posts.c.text).order_by(s.posts.c.id)).scalars().all()

    before = snapshot()
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\xff\xfe\x00garbage\n{\"platform\": \"x\", \"post_id\": \"1860000000000000001\"}\n")
    report = import_file(app_ctx, bad, "jsonl")
    assert report.posts_new == 0 and len(report.errors) == 2
    assert snapshot()[:3] == [before[0], before[1] + 1, before[2]]  # only the new raw page
    assert snapshot()[3:] == before[3:]

"""Incident grouping with several workers on one database: one incident, one case."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from pipelines.run import import_file
from pipelines.store import schema as s
from pipelines.triage_stage import TriageStage
from triage.qualify import Policies

INCIDENT = ("Jembatan gantung di Desa Sukamaju ambruk pagi ini, tiga anak sekolah jatuh ke sungai. "
            "Sudah dilaporkan ke dinas PU sejak tahun lalu tapi tidak pernah diperbaiki")
VARIANTS = ["", " #jembatanputus", " parah!!", " 😡😡", " tolong viralkan", " @PUPR_ID"]
OTHERS = [
    "antrean paspor di kantor imigrasi penuh banget dari subuh",
    "token listrik udah dibayar dari kemarin belum masuk juga",
    "KRL pagi ini telat 30 menit tanpa pengumuman apa pun",
    "min cara daftar ulang KIP kuliah gimana ya",
    "jalan di depan pasar berlubang besar, motor saya hampir jatuh",
    "BPJS saya tiba2 nonaktif padahal iuran lancar",
]


def _posts(path: Path, clock) -> None:  # noqa: ANN001
    """Two batches of other posts first (each worker then has loaded its cases before the
    incident starts), then the incident's posts, each batch holding one of them."""
    rows = [{"platform": "x", "post_id": f"8{i}", "text": f"{text} (ulang {i})",
             "created_at": (clock() - timedelta(hours=3, minutes=i)).isoformat()}
            for i, text in enumerate(OTHERS[:4])]
    for i, (variant, other) in enumerate(zip(VARIANTS, OTHERS, strict=True)):
        at = clock() - timedelta(hours=2) + timedelta(minutes=10 * i)
        rows.append({"platform": "x", "post_id": f"9{i}0", "text": INCIDENT + variant,
                     "created_at": at.isoformat()})
        rows.append({"platform": "x", "post_id": f"9{i}1", "text": other,
                     "created_at": (at + timedelta(minutes=1)).isoformat()})
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def _stage(app_ctx, classifier, owner: str) -> TriageStage:  # noqa: ANN001
    stage = TriageStage(app_ctx.engine, classifier, app_ctx.registry, Policies(), clock=app_ctx.clock,
                        batch_size=2)
    stage.owner = owner
    return stage


def test_two_workers_put_one_incident_in_one_case(app_ctx, classifier, tmp_path: Path) -> None:  # noqa: ANN001
    source = tmp_path / "posts.jsonl"
    _posts(source, app_ctx.clock)
    import_file(app_ctx, source, "jsonl")
    first, second = _stage(app_ctx, classifier, "host:1"), _stage(app_ctx, classifier, "host:2")
    while first.run_batch().claimed + second.run_batch().claimed:
        pass  # the two take turns, each getting some of the incident's posts
    p = s.posts
    with app_ctx.engine.connect() as conn:
        cases = dict(conn.execute(select(p.c.post_id, p.c.case_id)).all())
        pending = conn.execute(select(p.c.id).where(p.c.triage_state == "pending")).all()
    assert not pending
    incident = {cases[f"9{i}0"] for i in range(len(VARIANTS))}
    assert len(incident) == 1, f"one incident split over cases {incident}"
    assert incident.isdisjoint({cases[f"9{i}1"] for i in range(len(OTHERS))})

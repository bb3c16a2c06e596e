"""Training (pipelines.train), human labels from the database, and the models commands."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from pipelines.cli import main
from pipelines.models import load_classifier, production_versions
from pipelines.registry import load_registry
from pipelines.settings import RESOURCES
from pipelines.store import schema as s
from pipelines.store.db import open_database
from pipelines.train import (
    Example,
    TrainingError,
    human_labels,
    merge_human_labels,
    seed_corpus,
    train,
)
from triage.classify import MODEL_NAMES
from triage.sector import with_agency_sector

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)

# (redacted text, human labels, machine labels) of the fixture database's reviewed posts.
LABELED_POSTS = [
    ("KTP-el saya [NIK] 4 bulan belum jadi, tiap ke dukcapil disuruh nunggu",
     {"kind": "aduan", "substance": "administrasi_kependudukan",
      "maladministration": "penundaan_berlarut"},
     ("lainnya", "none", "tidak_ada")),
    ("oknum di loket samsat minta 150rb biar cepet, ga ada kwitansi",
     {"kind": "aduan", "substance": "pajak", "maladministration": "permintaan_imbalan"},
     ("aduan", "pajak", "tidak_kompeten")),
    ("terima kasih PLN, petugas datang cepat malam itu",
     {"kind": "lainnya", "substance": "listrik"},  # maladministration left as the machine's
     ("aduan", "listrik", "tidak_kompeten")),
    ("min kalau mau perpanjang SIM online syaratnya apa ya",
     {"kind": "pertanyaan", "substance": "kepolisian", "maladministration": "tidak_ada"},
     ("pertanyaan", "kepolisian", "tidak_ada")),
]


def make_labeled_database(url: str, posts: list = LABELED_POSTS) -> Engine:
    """A migrated database with posts, their machine labels and reviewers' label decisions."""
    engine = open_database(url)
    with engine.begin() as conn:
        page = conn.execute(insert(s.raw_pages).values(
            collector="files", collector_version="0.1", endpoint="fixture.jsonl",
            fetched_at=NOW, sha256="f" * 64, body="[]")).inserted_primary_key[0]
        user = conn.execute(insert(s.users).values(
            name="analis1", role="analis", password_hash="x", created_at=NOW)).inserted_primary_key[0]
        for number, (text, human, machine) in enumerate(posts):
            pk = conn.execute(insert(s.posts).values(
                platform="x", post_id=str(1000 + number), author_pseudonym=f"a:{number:08x}",
                text=None, redacted_text=text, redaction_counts={}, created_at=NOW,
                raw_page_id=page, collector="files", collector_version="0.1",
                endpoint="fixture.jsonl", fetched_at=NOW, raw_sha256="f" * 64, inserted_at=NOW,
                triage_state="done")).inserted_primary_key[0]
            conn.execute(insert(s.triage_results).values(
                post_pk=pk, triaged_at=NOW, kind=machine[0], kind_score=0.6,
                substance=machine[1], substance_score=0.6, maladministration=machine[2],
                maladministration_score=0.6, labels={}, virality_score=0.0,
                engagement_per_hour=0.0, virality={}, priority_score=0.1, tier="P4", reasons=[],
                models={}, qualified=False))
            # a first, corrected decision, then the one that stands
            conn.execute(insert(s.reviews).values(post_pk=pk, user_id=user, at=NOW, action="label",
                                                  field="kind", value="aduan"))
            for field, value in human.items():
                conn.execute(insert(s.reviews).values(
                    post_pk=pk, user_id=user, at=NOW + timedelta(minutes=5), action="label",
                    field=field, value=value))
            conn.execute(insert(s.reviews).values(post_pk=pk, user_id=user, at=NOW, action="note",
                                                  field=None, value="dicek"))
    return engine


@pytest.fixture(scope="module")
def subset() -> list[Example]:
    return seed_corpus()[::12]  # ~260 posts: a few seconds of training


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, subset: list[Example]) -> tuple[Path, dict]:
    models_dir = tmp_path_factory.mktemp("models")
    dev = [{"text": e.text, "kind": e.kind, "substance": e.substance,
            "maladministration": e.maladministration} for e in seed_corpus()[3::40]]
    versions = train(subset, models_dir, now=NOW, folds=2, dev=dev, do_promote=True,
                     params={"calibration_folds": 2})
    return models_dir, versions


def test_training_writes_artifacts_with_card_and_metadata(trained: tuple[Path, dict]) -> None:
    models_dir, versions = trained
    assert set(versions) == set(MODEL_NAMES)
    assert len(set(versions.values())) == 1 and versions["kind"].startswith("20261122-")
    for name, version in versions.items():
        folder = models_dir / name / version
        assert (folder / "model.skops").stat().st_size > 0
        meta = json.loads((folder / "metadata.json").read_text())
        for field in ("training_data_sha256", "code_version", "git_commit", "library_versions",
                      "label_set", "metrics", "seed", "sklearn_version", "trained_at", "pipeline"):
            assert field in meta, field
        assert meta["name"] == name and meta["version"] == version and meta["seed"] == 13
        assert meta["metrics"]["cross_validation"]["n"] > 0
        assert set(meta["metrics"]["dev_targets"]) >= {"kind_macro_f1", "aduan_vs_rest_f1"}
        card = (folder / "MODEL_CARD.md").read_text()
        for heading in ("## Intended use", "## Per-class metrics", "## Known failures", "## Dev set"):
            assert heading in card
    assert production_versions(models_dir) == versions
    assert load_classifier(models_dir).predict(["listrik padam dari sore"])[0].kind.label


def test_retraining_the_same_data_gets_a_new_version(tmp_path: Path, subset: list[Example]) -> None:
    first = train(subset, tmp_path, now=NOW, folds=0, params={"calibration_folds": 2})
    second = train(subset, tmp_path, now=NOW, folds=0, params={"calibration_folds": 2})
    assert second["kind"] == first["kind"] + "-2"
    assert not (tmp_path / "production.json").exists()  # nothing promoted unless asked


def test_too_little_data_is_a_clear_error(tmp_path: Path, subset: list[Example]) -> None:
    with pytest.raises(TrainingError, match="too few"):
        train(subset[:20], tmp_path)
    one_sector = [replace(e, substance="listrik") for e in subset[:200]]  # nothing to tell apart
    with pytest.raises(TrainingError, match="fewer than 2 labels with >= 10 examples"):
        train(one_sector, tmp_path, folds=0)


def test_human_labels_come_from_the_reviews_table(tmp_path: Path) -> None:
    engine = make_labeled_database(f"sqlite:///{tmp_path / 'fixture.db'}")
    examples = {e.text: e for e in human_labels(engine)}
    assert len(examples) == len(LABELED_POSTS)
    first = examples[LABELED_POSTS[0][0]]
    assert (first.kind, first.substance, first.maladministration) == (
        "aduan", "administrasi_kependudukan", "penundaan_berlarut")
    assert first.source == "human" and first.id == "human:x:1000"
    praise = examples[LABELED_POSTS[2][0]]
    assert praise.kind == "lainnya" and praise.maladministration == "tidak_ada"
    merged = merge_human_labels(seed_corpus()[:10], list(examples.values()))
    assert len(merged) == 10 + len(LABELED_POSTS)


def test_classify_command_streams_jsonl_and_skips_bad_lines(
    trained: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PANTAU_MODELS_DIR", str(trained[0]))
    source = tmp_path / "posts.jsonl"
    source.write_text("\n".join([
        json.dumps({"id": "a", "text": "listrik padam dari sore @pln_123"}),
        "{not json",
        json.dumps({"id": "b"}),
        json.dumps({"id": 3, "text": "min cara ganti nomor hp gimana?", "lang": "id"}),
    ]) + "\n")
    assert main(["classify", str(source), "--batch-size", "1"]) == 0
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["id"] for line in lines] == ["a", 3]
    for line in lines:
        for name in MODEL_NAMES:
            assert {"label", "score", "alternatives", "evidence"} <= set(line[name])
    assert "line 2" in err and "line 3" in err
    # the substance triage gives: the named agency's sector where the model is less sure
    text = "listrik padam dari sore @pln_123"
    expected = with_agency_sector(load_classifier(trained[0]).predict([text])[0],
                                  load_registry(RESOURCES / "agencies.toml").resolve(text))
    assert lines[0]["substance"] == expected.substance.to_dict()
    assert lines[0]["substance"]["label"] == "listrik"


def test_classify_command_takes_the_sector_of_the_query_that_collected_a_post(
    trained: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PANTAU_MODELS_DIR", str(trained[0]))
    text = "Tolong apknya dibenahi dong, masa eror terus"  # a review naming no agency
    alone = load_classifier(trained[0]).predict([text])[0].substance
    assert alone.label != "pajak" and alone.score < 0.86  # the model alone would not say pajak
    source = tmp_path / "reviews.jsonl"
    source.write_text("\n".join([
        json.dumps({"id": "r1", "text": text, "query": "Coretax"}),
        json.dumps({"id": "r2", "text": text}),
        json.dumps({"id": "r3", "text": text, "query": ["Coretax"]}),
    ]) + "\n")
    assert main(["classify", str(source)]) == 0
    out, err = capsys.readouterr()
    lines = {line["id"]: line for line in map(json.loads, out.splitlines())}
    assert lines["r1"]["substance"]["label"] == "pajak"
    assert lines["r2"]["substance"] == alone.to_dict()
    assert "r3" not in lines and "line 3" in err and "query" in err


def test_evaluate_command_prints_reports_and_targets(
    trained: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PANTAU_MODELS_DIR", str(trained[0]))
    labeled = tmp_path / "labeled.jsonl"
    labeled.write_text("".join(json.dumps({"id": e.id, "text": e.text, "kind": e.kind,
                                           "substance": e.substance,
                                           "maladministration": e.maladministration}) + "\n"
                               for e in seed_corpus()[5::60]))
    assert main(["evaluate", str(labeled)]) == 0
    out = capsys.readouterr().out
    assert "macro-F1" in out and "confusion" in out and "targets:" in out
    assert main(["evaluate", str(labeled), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["reports"]) == set(MODEL_NAMES) and "kind_macro_f1" in data["targets"]
    targets = data["targets"]
    rows = [json.loads(line) for line in labeled.read_text().splitlines()]
    registry = load_registry(RESOURCES / "agencies.toml")
    named = sum(1 for r in rows if r["substance"] != "none" and registry.resolve(r["text"]))
    assert targets["substance_rows_names_agency"] == named > 0
    assert targets["substance_rows_names_none"] == sum(r["substance"] != "none" for r in rows) - named
    assert "text names an agency" in out
    assert main(["evaluate", str(tmp_path / "missing.jsonl")]) == 2
    labeled.write_text(json.dumps({"id": "q", "text": "x", "query": 5, "kind": "lainnya",
                                   "substance": "none", "maladministration": "tidak_ada"}) + "\n")
    assert main(["evaluate", str(labeled)]) == 2
    assert "query must be a string" in capsys.readouterr().err

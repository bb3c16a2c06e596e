"""The classifiers (triage.classify): estimator contract, predictions, evidence, artifacts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from pipelines.models import ModelError, load_classifier, load_pipeline, promote, save_artifact
from pipelines.train import _targets, seed_corpus
from triage.classify import MODEL_NAMES, NO_MALADMINISTRATION, Classifier
from triage.estimators import ColumnSelector, HashedNgrams, TextNormalizer, build_pipeline, compact

POSTS = [
    "udh 3 bulan KTP-el gak jadi2, tiap ke dukcapil disuruh balik minggu depan @Dukcapil",
    "petugas samsat minta uang pelicin 200rb biar STNK cepet beres, ga ada kwitansi",
    "min, cara ganti nomor HP di aplikasi Mobile JKN gimana ya?",
    "Presiden resmikan jalan tol baru di Sumatera hari ini",
    "listrik padam dari sore @pln_123 tolong dong 😡😡",
    "",
    "🙏🙏",
    "#percumalaporpolisi laporan gue dicuekin 2 bulan",
]


@parametrize_with_checks([TextNormalizer(), HashedNgrams(), ColumnSelector()])
def test_transformers_follow_the_estimator_contract(estimator, check) -> None:  # noqa: ANN001
    check(estimator)


@pytest.fixture(scope="module")
def pipelines() -> dict:
    """Tiny models on an eighth of the seed corpus: a few seconds, enough to exercise the code."""
    examples = seed_corpus()[::12]
    fitted = {}
    for name in MODEL_NAMES:
        texts, labels = _targets(examples, name)
        fitted[name] = compact(build_pipeline(calibration_folds=2).fit(texts, labels))
    return fitted


@pytest.fixture(scope="module")
def classifier(pipelines: dict) -> Classifier:
    return Classifier.from_pipelines(pipelines, {name: f"{name}/test" for name in MODEL_NAMES})


def test_predictions_are_labels_with_probabilities(classifier: Classifier) -> None:
    labels = classifier.predict(POSTS)
    assert len(labels) == len(POSTS)
    for item in labels:
        for name in MODEL_NAMES:
            prediction = getattr(item, name)
            assert 0.0 <= prediction.score <= 1.0
            assert all(0.0 <= p <= prediction.score + 1e-9 for _, p in prediction.alternatives)
        as_dict = item.to_dict()
        assert set(as_dict) == set(MODEL_NAMES)
        json.dumps(as_dict)


def test_evidence_phrases_are_substrings_of_the_post(classifier: Classifier) -> None:
    labels = classifier.predict(POSTS)
    shown = 0
    for text, item in zip(POSTS, labels, strict=True):
        for name in MODEL_NAMES:
            for phrase in getattr(item, name).evidence:
                assert phrase and phrase in text
                shown += 1
    assert shown > len(POSTS)  # most posts do get evidence


def test_maladministration_is_tidak_ada_unless_aduan(classifier: Classifier) -> None:
    for item in classifier.predict(POSTS * 3):
        if item.kind.label != "aduan":
            assert item.maladministration.label == NO_MALADMINISTRATION
            assert item.maladministration.evidence == ()


def test_batched_path_equals_the_pipelines_own(classifier: Classifier, pipelines: dict) -> None:
    """Hashing once per batch and the vectorised evidence change nothing in the probabilities."""
    labels = classifier.predict(POSTS)
    for name in ("kind", "substance"):
        proba = pipelines[name].predict_proba(POSTS)
        classes = list(pipelines[name].classes_)
        for row, item in zip(proba, labels, strict=True):
            prediction = getattr(item, name)
            assert classes[int(np.argmax(row))] == prediction.label
            assert row.max() == pytest.approx(prediction.score, abs=1e-6)


def test_batches_are_independent(classifier: Classifier) -> None:
    together = [x.to_dict() for x in classifier.predict(POSTS)]
    alone = [classifier.predict([p])[0].to_dict() for p in POSTS]
    assert together == alone
    assert classifier.predict([]) == []


def _write_models(models_dir: Path, pipelines: dict, version: str = "20260101-test") -> None:
    for name, pipeline in pipelines.items():
        save_artifact(models_dir, name, version, pipeline, {"label_set": []}, f"# {name}\n")
    promote(models_dir, {name: version for name in pipelines})


def test_skops_round_trip(tmp_path: Path, pipelines: dict, classifier: Classifier) -> None:
    _write_models(tmp_path, pipelines)
    loaded = load_classifier(tmp_path)
    assert loaded.versions == {name: f"{name}/20260101-test" for name in MODEL_NAMES}
    assert [x.to_dict() for x in loaded.predict(POSTS)] == [x.to_dict() for x in classifier.predict(POSTS)]
    assert (tmp_path / "kind" / "20260101-test" / "model.skops").stat().st_size < 3_000_000


def test_artifacts_are_immutable(tmp_path: Path, pipelines: dict) -> None:
    _write_models(tmp_path, pipelines)
    with pytest.raises(ModelError, match="already exists"):
        save_artifact(tmp_path, "kind", "20260101-test", pipelines["kind"], {}, "")


def test_loader_refuses_a_mismatched_scikit_learn(tmp_path: Path, pipelines: dict) -> None:
    _write_models(tmp_path, pipelines)
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path, copy, ignore=shutil.ignore_patterns("copy"))
    meta_path = copy / "kind" / "20260101-test" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["sklearn_version"] = "1.2.2"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=r"scikit-learn 1\.2\.2 .* install scikit-learn==1\.2\.2"):
        load_pipeline(copy, "kind", "20260101-test")
    with pytest.raises(ModelError, match="scikit-learn"):
        load_classifier(copy)


def test_missing_production_models_are_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="pantau train --promote"):
        load_classifier(tmp_path)


def test_feature_hash_is_scikit_learns_murmurhash() -> None:
    from sklearn.utils import murmurhash3_32

    from triage.features import pair_column, word_columns

    for word in ("listrik", "padam", "é", "😭", "kai121", "x" * 40):
        expected = [murmurhash3_32("w " + word, positive=True) % 2**20]
        assert list(word_columns(word, 2**20, 0, -1)) == expected
    assert pair_column("mati lampu", 2**20) == murmurhash3_32("b mati lampu", positive=True) % 2**20


def test_serving_file_is_checked_against_its_hash(tmp_path: Path, pipelines: dict) -> None:
    _write_models(tmp_path, pipelines)
    serving = tmp_path / "kind" / "20260101-test" / "serving.npz"
    data = bytearray(serving.read_bytes())
    data[len(data) // 2] ^= 0xFF
    serving.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match the sha256"):
        load_classifier(tmp_path)
    serving.unlink()
    with pytest.raises(ModelError, match="serving.npz is missing"):
        load_classifier(tmp_path)


def test_damaged_serving_bytes_are_a_clear_error() -> None:
    from triage.linear import LinearModel, LinearModelError

    with pytest.raises(LinearModelError, match="cannot be read"):
        LinearModel.from_bytes(b"PK\x03\x04 not a zip at all", "kind serving.npz")


def test_artifact_without_serving_file_is_served_from_its_pipeline(
    tmp_path: Path, pipelines: dict, classifier: Classifier
) -> None:
    _write_models(tmp_path, pipelines)
    for name in MODEL_NAMES:  # as written before serving files existed
        folder = tmp_path / name / "20260101-test"
        (folder / "serving.npz").unlink()
        meta = json.loads((folder / "metadata.json").read_text())
        del meta["serving_sha256"]
        (folder / "metadata.json").write_text(json.dumps(meta))
    loaded = load_classifier(tmp_path)
    assert [x.to_dict() for x in loaded.predict(POSTS)] == [x.to_dict() for x in classifier.predict(POSTS)]


def test_serving_does_not_import_scikit_learn(tmp_path: Path, pipelines: dict) -> None:
    """Workers start fast: loading and running the models needs numpy, not scikit-learn/scipy."""
    import subprocess
    import sys

    _write_models(tmp_path, pipelines)
    code = (
        "import sys; from pathlib import Path; from pipelines.models import load_classifier; "
        f"load_classifier(Path({str(tmp_path)!r})).predict(['listrik padam dari sore']); "
        "print(sorted(m for m in ('sklearn', 'scipy', 'skops', 'datasketch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_character_ngram_models_serve_like_their_pipeline() -> None:
    """Models with character n-grams take the general hashing path: same probabilities."""
    examples = seed_corpus()[::20]
    texts, labels = _targets(examples, "kind")
    pipeline = compact(build_pipeline(char_ngrams=(3, 4), calibration_folds=2).fit(texts, labels))
    served = Classifier.from_pipelines({name: pipeline for name in MODEL_NAMES}, {}).predict(POSTS)
    proba = pipeline.predict_proba(POSTS)
    for row, item in zip(proba, served, strict=True):
        assert pipeline.classes_[int(np.argmax(row))] == item.kind.label
        assert row.max() == pytest.approx(item.kind.score, abs=1e-6)

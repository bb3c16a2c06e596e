"""notebooks/01-retrain.ipynb runs headless (nbclient) on a small fixture database."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from pipelines.models import production_versions
from pipelines.train import seed_corpus, train
from tests.pipelines.test_train import NOW, make_labeled_database

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01-retrain.ipynb"


@pytest.fixture
def notebook_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    url = f"sqlite:///{tmp_path / 'fixture.db'}"
    make_labeled_database(url).dispose()
    models_dir = tmp_path / "models"
    # a production model to compare with, and a small dev set (seed rows; the real one is measured
    # only by analysts)
    train(seed_corpus()[1::12], models_dir, now=NOW, folds=0, do_promote=True,
          params={"calibration_folds": 2})
    dev = tmp_path / "dev.jsonl"
    dev.write_text("".join(json.dumps({"id": e.id, "text": e.text, "kind": e.kind,
                                       "substance": e.substance,
                                       "maladministration": e.maladministration}) + "\n"
                           for e in seed_corpus()[7::50]))
    for name, value in {"PANTAU_DATABASE_URL": url, "PANTAU_MODELS_DIR": str(models_dir),
                        "PANTAU_DEV_SET": str(dev), "PANTAU_TRAIN_LIMIT": "300",
                        "PANTAU_CV_FOLDS": "0", "PANTAU_DATA_DIR": str(tmp_path / "var")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PROMOTE", raising=False)
    monkeypatch.delenv("PANTAU_CONFIG", raising=False)
    return models_dir


def test_retrain_notebook_writes_a_version_without_promoting(notebook_env: Path) -> None:
    models_dir = notebook_env
    before = production_versions(models_dir)
    production_file = (models_dir / "production.json").read_text()
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    env_python = Path(sys.executable).parent
    assert os.environ["PATH"]  # the kernel inherits this process's environment
    client.execute(env={**os.environ, "PATH": f"{env_python}{os.pathsep}{os.environ['PATH']}"})
    outputs = "".join(o.get("text", "") + json.dumps(o.get("data", {}))
                      for cell in notebook.cells if cell.cell_type == "code"
                      for o in cell.get("outputs", []))
    assert "Error" not in outputs.replace("ModelError", "")
    versions = [p.name for p in (models_dir / "kind").iterdir()]
    assert len(versions) == 2  # the production one and the new one
    assert (models_dir / "production.json").read_text() == production_file
    assert production_versions(models_dir) == before
    assert "4 human-labeled posts" in outputs
    assert "not promoted" in outputs

"""Model artifacts on disk: `models/<name>/<version>/` with the skops file, metadata and card.

`models/production.json` names the version of each model that triage serves; `promote` is the
only thing that changes it. Loading checks the scikit-learn version the artifact was trained
with and refuses a mismatch, and only unpickles the types listed in TRUSTED_TYPES.

Beside the skops pipeline, each folder holds `serving.npz`: the fitted numbers serving needs
(triage.linear), exported at save time with their sha256 in metadata.json. Triage workers load
that file with numpy alone, which keeps scikit-learn, scipy and skops (over 2 s of imports) out
of their start-up; an artifact without it is served from its skops pipeline.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Mapping
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

from triage.classify import MODEL_NAMES, Classifier
from triage.errors import PantauError
from triage.forecast import Forecaster, ForecastModelError
from triage.linear import LinearModel, LinearModelError

MODEL_FILE = "model.skops"
SERVING_FILE = "serving.npz"
PRODUCTION_FILE = "production.json"
# Types beyond skops' defaults that our pipelines contain; nothing else is loaded.
TRUSTED_TYPES = [
    "triage.estimators.TextNormalizer",
    "triage.estimators.HashedNgrams",
    "triage.estimators.ColumnSelector",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.calibration._TemperatureScaling",
]


class ModelError(PantauError):
    """A model artifact is missing, untrusted or incompatible."""


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def save_artifact(
    models_dir: Path, name: str, version: str, pipeline: Any, metadata: Mapping[str, Any], card: str
) -> Path:
    """Write one artifact folder; refuses to overwrite an existing version."""
    import sklearn
    import skops.io as sio

    folder = Path(models_dir) / name / version
    if folder.exists():
        raise ModelError(f"model {name}/{version} already exists; versions are immutable")
    serving = LinearModel.from_pipeline(pipeline).to_bytes()
    folder.mkdir(parents=True)
    sio.dump(pipeline, folder / MODEL_FILE, compression=8, compresslevel=9)
    (folder / SERVING_FILE).write_bytes(serving)
    meta = {
        **metadata,
        "name": name,
        "version": version,
        "sklearn_version": sklearn.__version__,
        "python_version": platform.python_version(),
        "serving_sha256": hashlib.sha256(serving).hexdigest(),
    }
    (folder / "metadata.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    (folder / "MODEL_CARD.md").write_text(card)
    return folder


def read_metadata(models_dir: Path, name: str, version: str) -> dict[str, Any]:
    path = Path(models_dir) / name / version / "metadata.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"model {name}/{version} not found under {models_dir}") from None


def _check_sklearn(name: str, version: str, meta: Mapping[str, Any]) -> None:
    """Refuse an artifact of another scikit-learn minor version (read from the installed
    distribution's metadata, so that serving need not import scikit-learn)."""
    trained, installed = str(meta.get("sklearn_version", "?")), installed_version("scikit-learn")
    if _minor(trained) != _minor(installed):
        raise ModelError(
            f"model {name}/{version} was trained with scikit-learn {trained} but "
            f"{installed} is installed: install scikit-learn=={trained} "
            "(see requirements.lock) or retrain with `pantau train`"
        )


def load_pipeline(models_dir: Path, name: str, version: str) -> Any:
    """The fitted scikit-learn pipeline of one artifact (for analysis and retraining)."""
    import skops.io as sio

    _check_sklearn(name, version, read_metadata(models_dir, name, version))
    path = Path(models_dir) / name / version / MODEL_FILE
    untrusted = set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES)
    if untrusted:
        raise ModelError(f"model {name}/{version} holds untrusted types: {sorted(untrusted)}")
    return sio.load(path, trusted=TRUSTED_TYPES)


def production_versions(models_dir: Path) -> dict[str, str]:
    path = Path(models_dir) / PRODUCTION_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(
            f"no production models: {path} is missing (run `pantau train --promote`)"
        ) from None
    missing = [n for n in MODEL_NAMES if n not in data]
    if missing:
        raise ModelError(f"{path} names no version for: {', '.join(missing)}")
    return {n: str(data[n]) for n in MODEL_NAMES}


def promote(models_dir: Path, versions: Mapping[str, str]) -> None:
    """Make `versions` the production models (every one must exist)."""
    for name, version in versions.items():
        read_metadata(models_dir, name, version)
    path = Path(models_dir) / PRODUCTION_FILE
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update(versions)
    path.write_text(json.dumps(dict(sorted(current.items())), indent=2) + "\n")


def load_serving_model(models_dir: Path, name: str, version: str) -> LinearModel:
    """What triage serves of one artifact: its serving.npz, checked against the sha256 that
    metadata.json recorded; the skops pipeline when the artifact predates serving files."""
    meta = read_metadata(models_dir, name, version)
    _check_sklearn(name, version, meta)
    path = Path(models_dir) / name / version / SERVING_FILE
    if "serving_sha256" not in meta:
        return LinearModel.from_pipeline(load_pipeline(models_dir, name, version))
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"model {name}/{version}: {SERVING_FILE} is missing") from None
    if hashlib.sha256(data).hexdigest() != meta["serving_sha256"]:
        raise ModelError(f"model {name}/{version}: {SERVING_FILE} does not match the sha256 in "
                         "metadata.json (damaged or replaced); retrain with `pantau train`")
    try:
        return LinearModel.from_bytes(data, f"model {name}/{version} {SERVING_FILE}")
    except LinearModelError as exc:
        raise ModelError(str(exc)) from None


def load_versions(models_dir: Path, versions: Mapping[str, str]) -> Classifier:
    """A classifier of the given version of each model (e.g. a candidate not yet promoted)."""
    models = {name: load_serving_model(models_dir, name, v) for name, v in versions.items()}
    classifier = Classifier(models, {name: f"{name}/{v}" for name, v in versions.items()})
    classifier.predict(["memuat kamus"])  # load the stemmer's dictionary now, not on the first post
    return classifier


VIRALITY_MODEL = "virality"
FORECASTER_FILE = "forecaster.json"


class ViralityModelError(ModelError):
    """The virality forecaster cannot be found or read."""


def forecaster_versions(models_dir: Path) -> list[str]:
    folder = Path(models_dir) / VIRALITY_MODEL
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / FORECASTER_FILE).is_file())


def load_forecaster(models_dir: Path, version: str | None = None) -> Forecaster:
    """The shipped forecaster: `version`, else production.json's "virality", else the newest."""
    models_dir = Path(models_dir)
    if version is None:
        try:
            version = json.loads((models_dir / PRODUCTION_FILE).read_text()).get(VIRALITY_MODEL)
        except (FileNotFoundError, ValueError, AttributeError):
            version = None
    if version is None:
        versions = forecaster_versions(models_dir)
        if not versions:
            raise ViralityModelError(
                f"no virality forecaster under {models_dir / VIRALITY_MODEL} "
                "(train one: python bench/eval_virality.py --train; or pass --no-model)")
        version = versions[-1]
    path = models_dir / VIRALITY_MODEL / version / FORECASTER_FILE
    try:
        return Forecaster.from_json(path.read_bytes())
    except FileNotFoundError:
        raise ViralityModelError(f"virality forecaster {version} not found: {path}") from None
    except ForecastModelError as exc:
        raise ViralityModelError(f"virality forecaster {version}: {exc}") from None


def load_classifier(models_dir: Path) -> Classifier:
    """The production classifier: loaded once per process."""
    return load_versions(models_dir, production_versions(models_dir))

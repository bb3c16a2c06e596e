"""Training the three classifiers from the team's seed corpus (+ human labels) into artifacts."""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from pipelines.models import promote, save_artifact
from triage.classify import MODEL_NAMES, NO_MALADMINISTRATION, build_pipeline
from triage.errors import PantauError
from triage.evaluation import report
from triage.taxonomy import LABEL_SETS

log = logging.getLogger(__name__)

SEED_DIR = Path(__file__).resolve().parent.parent / "data" / "seed"
CODE_VERSION = "0.1.0"
MIN_EXAMPLES = 10  # fewer examples of a label than this and the label is not learned


class TrainingError(PantauError):
    """The training data is unusable."""


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    kind: str
    substance: str
    maladministration: str
    source: str  # "seed" or "human"


def read_labeled(paths: Iterable[Path], *, source: str = "seed") -> list[Example]:
    """Labeled JSONL rows ({id, text, kind, substance, maladministration}); invalid labels fail."""
    examples = []
    for path in paths:
        with Path(path).open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    raise TrainingError(f"{path}:{number}: not valid JSON") from None
                for field, allowed in LABEL_SETS.items():
                    if row.get(field) not in allowed:
                        raise TrainingError(f"{path}:{number}: {field} {row.get(field)!r} is not a label")
                examples.append(Example(str(row["id"]), str(row["text"]), row["kind"],
                                        row["substance"], row["maladministration"], source))
    return examples


def seed_corpus(seed_dir: Path = SEED_DIR) -> list[Example]:
    paths = sorted(Path(seed_dir).glob("*.jsonl"))
    if not paths:
        raise TrainingError(f"no seed corpus under {seed_dir}")
    return read_labeled(paths)


def merge_human_labels(examples: Sequence[Example], human: Sequence[Example]) -> list[Example]:
    """Human labels from the review page override seed rows with the same id, else add to them."""
    by_id = {e.id: e for e in examples}
    for example in human:
        by_id[example.id] = example
    return list(by_id.values())


def data_hash(examples: Sequence[Example]) -> str:
    digest = hashlib.sha256()
    for e in sorted(examples, key=lambda e: e.id):
        digest.update(json.dumps([e.id, e.text, e.kind, e.substance, e.maladministration]).encode())
    return digest.hexdigest()


def _targets(examples: Sequence[Example], name: str) -> tuple[list[str], list[str]]:
    """(texts, labels) the model `name` learns from; maladministration learns from aduan only."""
    if name == "maladministration":
        chosen = [e for e in examples if e.kind == "aduan"]
    else:
        chosen = list(examples)
    counts = Counter(getattr(e, name) for e in chosen)
    rare = sorted(label for label, n in counts.items() if n < MIN_EXAMPLES)
    if rare:  # calibration and cross-validation need several examples of every class
        log.warning("%s: labels with < %d examples left out: %s", name, MIN_EXAMPLES, rare)
        chosen = [e for e in chosen if getattr(e, name) not in rare]
    return [e.text for e in chosen], [getattr(e, name) for e in chosen]


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5, cwd=Path(__file__).parent)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _card(name: str, version: str, n: int, counts: Counter, cv: Any, dev: Any | None) -> str:
    lines = [
        f"# Model card: {name} {version}",
        "",
        "## Intended use",
        f"Labels Indonesian social-media posts about public services with their `{name}` "
        "(ids of LABELS.md), for triage by humas staff, who confirm or correct every label on "
        "the review page. Input is the post's redacted text. Not for decisions about people.",
        "",
        "## Training data",
        f"{n} posts of the team's own seed corpus (data/seed) plus human labels from the review "
        "page. Never trained on ../shared/data. Label counts: "
        + ", ".join(f"{k} {v}" for k, v in counts.most_common()),
        "",
        "## Per-class metrics (5-fold cross-validation on the training data)",
        "```",
        cv.render(),
        "```",
    ]
    if dev is not None:
        lines += ["", "## Dev set (../shared/data/labels/dev.jsonl, real posts, not trained on)",
                  "```", dev.render(), "```"]
    lines += [
        "",
        "## Known failures",
        "- Real posts are noisier than the seed corpus: cross-validation figures are optimistic.",
        "- Sarcasm without complaint words, and complaints that only link an image, are missed.",
        "- Rare maladministration types (berpihak, konflik_kepentingan, diskriminasi) have few "
        "examples and low recall; the review page shows the runner-up labels.",
        "- Posts about several sectors get one substance only.",
        "",
    ]
    return "\n".join(lines)


def train(
    examples: Sequence[Example],
    models_dir: Path,
    *,
    seed: int = 13,
    dev: Sequence[dict] | None = None,
    now: datetime | None = None,
    do_promote: bool = False,
    folds: int = 5,
) -> dict[str, str]:
    """Fit the three models, write their artifacts; returns {name: version}."""
    if len(examples) < 50:
        raise TrainingError(f"only {len(examples)} labeled posts: too few to train")
    now = now or datetime.now(timezone.utc)
    dhash = data_hash(examples)
    version = f"{now:%Y%m%d}-{dhash[:8]}"
    versions = {}
    for name in MODEL_NAMES:
        texts, labels = _targets(examples, name)
        counts = Counter(labels)
        pipeline = build_pipeline(seed=seed)
        n_splits = min(folds, min(counts.values()))
        if n_splits >= 2:
            cv_pred = cross_val_predict(
                build_pipeline(seed=seed), np.array(texts, dtype=object), labels,
                cv=StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed),
            )
            cv = report(f"{name} cross-validation", labels, list(cv_pred), LABEL_SETS[name])
        else:
            cv = report(f"{name} cross-validation (skipped: a class has < 2 examples)", [], [], [])
        pipeline.fit(texts, labels)
        dev_report = None
        if dev:
            rows = [r for r in dev if name != "maladministration" or r["kind"] == "aduan"]
            predicted = list(pipeline.predict([r["text"] for r in rows]))
            dev_report = report(f"{name} dev", [r[name] for r in rows], predicted, LABEL_SETS[name])
        metadata = {
            "training_data_sha256": dhash,
            "training_examples": len(texts),
            "human_labels": sum(1 for e in examples if e.source == "human"),
            "code_version": CODE_VERSION,
            "git_commit": _git_commit(),
            "library_versions": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
            "label_set": list(LABEL_SETS[name]),
            "labels_seen": sorted(counts),
            "seed": seed,
            "trained_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "metrics": {"cross_validation": cv.to_dict(),
                        "dev": dev_report.to_dict() if dev_report else None},
            "note": (f"trained on aduan posts only; non-aduan posts get {NO_MALADMINISTRATION}"
                     if name == "maladministration" else ""),
        }
        card = _card(name, version, len(texts), counts, cv, dev_report)
        save_artifact(models_dir, name, version, pipeline, metadata, card)
        versions[name] = version
        log.info("trained %s/%s on %d examples (cv macro-F1 %.3f)", name, version, len(texts), cv.macro_f1)
    if do_promote:
        promote(models_dir, versions)
    return versions

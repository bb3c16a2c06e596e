"""Training the three classifiers from the team's seed corpus (+ human labels) into artifacts.

Human labels are the review page's decisions: `reviews` rows with action "label", one per field
(kind, substance, maladministration), on the post's redacted text (`human_labels`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sqlalchemy import Engine, select

from pipelines.models import promote, save_artifact
from pipelines.store import schema
from triage.agencies import Registry
from triage.classify import MODEL_NAMES, NO_MALADMINISTRATION, Classifier
from triage.errors import PantauError
from triage.estimators import build_pipeline, compact
from triage.evaluation import Report, report, target_figures
from triage.sector import with_agency_sectors
from triage.taxonomy import LABEL_SETS

log = logging.getLogger(__name__)

SEED_DIR = Path(__file__).resolve().parent.parent / "data" / "seed"
CODE_VERSION = "0.2.0"
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
    query: str | None = None  # the search that collected the post, if the file says (not trained on)


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
                query = row.get("query")
                if query is not None and not isinstance(query, str):
                    raise TrainingError(f"{path}:{number}: query must be a string")
                examples.append(Example(str(row["id"]), str(row["text"]), row["kind"],
                                        row["substance"], row["maladministration"], source, query))
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


def human_labels(engine: Engine) -> list[Example]:
    """Posts labeled on the review page: the latest human value of each field, on redacted text.

    A field nobody labeled takes the machine's label of that post (the reviewer saw it and let
    it stand); posts with no label left, or an invalid one, are skipped. Non-aduan posts get
    tidak_ada whatever was stored, as LABELS.md requires.
    """
    r, p, t = schema.reviews, schema.posts, schema.triage_results
    query = (
        select(p.c.id, p.c.platform, p.c.post_id, p.c.redacted_text, r.c.field, r.c.value)
        .join(p, p.c.id == r.c.post_pk)
        .where(r.c.action == "label", r.c.field.in_(MODEL_NAMES))
        .order_by(r.c.post_pk, r.c.at, r.c.id)
    )
    labels: dict[int, dict[str, str]] = {}
    meta: dict[int, tuple[str, str]] = {}
    with engine.connect() as conn:
        for row in conn.execute(query):
            labels.setdefault(row.id, {})[row.field] = row.value  # later rows win
            meta[row.id] = (f"human:{row.platform}:{row.post_id}", row.redacted_text)
        machine = {}
        if labels:
            machine_query = select(t.c.post_pk, t.c.kind, t.c.substance, t.c.maladministration)
            for row in conn.execute(machine_query.where(t.c.post_pk.in_(list(labels)))):
                machine[row.post_pk] = {n: getattr(row, n) for n in MODEL_NAMES}
    examples = []
    for pk, values in labels.items():
        merged = {**machine.get(pk, {}), **values}
        if merged.get("kind") not in (None, "aduan"):
            merged["maladministration"] = NO_MALADMINISTRATION
        if any(merged.get(n) not in LABEL_SETS[n] for n in MODEL_NAMES):
            log.warning("post %s: human labels incomplete or invalid, skipped", pk)
            continue
        example_id, text = meta[pk]
        examples.append(Example(example_id, text, merged["kind"], merged["substance"],
                                merged["maladministration"], "human"))
    return examples


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
    if len(counts) - len(rare) < 2:
        raise TrainingError(f"{name}: fewer than 2 labels with >= {MIN_EXAMPLES} examples each")
    return [e.text for e in chosen], [getattr(e, name) for e in chosen]


def _git_commit() -> str:
    """The checked-out commit, read from .git (no git process); "unknown" outside a clone."""
    git = Path(__file__).resolve().parent.parent / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = head[5:]
            path = git / ref
            if path.exists():
                return path.read_text().strip()[:12]
            packed = (git / "packed-refs").read_text().splitlines()
            return next((line.split()[0][:12] for line in packed if line.endswith(" " + ref)), "unknown")
        return head[:12]
    except OSError:
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
        "## Per-class metrics (cross-validation on the training data)",
        "```",
        cv.render() if cv is not None else "skipped",
        "```",
    ]
    if dev is not None:
        lines += ["", "## Dev set (../shared/data/labels/dev.jsonl, real posts, not trained on)",
                  "```", dev.render(), "```"]
    lines += [
        "",
        "## Known failures",
        "- Real posts are noisier than the seed corpus: cross-validation figures are optimistic "
        "(compare the dev-set section), and probabilities are overconfident on real posts "
        "(on the dev set, kind: mean confidence 0.85 for 0.73 accuracy).",
        "- Posts whose sector or grievance is only in their context are missed: app-store "
        "reviews that never name the app (\"aplikasi eror terus\" about PLN Mobile or Coretax), "
        "short replies in a thread (\"nasinya kurangin dikit\" under a Makan Bergizi Gratis "
        "story), agency replies that sign with a greeting only (\"Salam Sehat Sahabat\").",
        "- Sarcasm and venting without complaint words (\"Keren polisi sekarang\"), English "
        "posts, and polite fault reports phrased as questions (predicted pertanyaan instead of "
        "aduan).",
        "- \"sampah\" as an insult (\"aplikasi sampah\") pulls substance to lingkungan_hidup.",
        "- Rare maladministration types (berpihak, konflik_kepentingan, diskriminasi) have few "
        "examples and low recall; the review page shows the runner-up labels.",
        "- Posts about several sectors get one substance only.",
        "",
    ]
    return "\n".join(lines)


def _free_version(models_dir: Path, base: str) -> str:
    """`base`, or base-2, base-3, ... when a model of that version already exists."""
    version, n = base, 1
    while any((Path(models_dir) / name / version).exists() for name in MODEL_NAMES):
        n += 1
        version = f"{base}-{n}"
    return version


def train(
    examples: Sequence[Example],
    models_dir: Path,
    *,
    seed: int = 13,
    dev: Sequence[dict] | None = None,
    now: datetime | None = None,
    do_promote: bool = False,
    folds: int = 5,
    params: dict[str, Any] | None = None,
    registry: Registry | None = None,
) -> dict[str, str]:
    """Fit the three models, write their artifacts; returns {name: version}.

    params: keyword arguments of `build_pipeline` (its defaults are the shipped configuration);
    folds: cross-validation folds for the card's metrics (0 skips them); dev: labeled rows to
    measure on (never trained on), whose figures go into metadata and card.
    """
    params = dict(params or {})
    if len(examples) < 50:
        raise TrainingError(f"only {len(examples)} labeled posts: too few to train")
    now = now or datetime.now(timezone.utc)
    dhash = data_hash(examples)
    version = _free_version(models_dir, f"{now:%Y%m%d}-{dhash[:8]}")
    pipelines, cvs, counts = {}, {}, {}
    for name in MODEL_NAMES:
        texts, labels = _targets(examples, name)
        counts[name] = Counter(labels)
        n_splits = min(folds, min(counts[name].values()))
        cvs[name] = None
        if n_splits >= 2:
            cv_pred = cross_val_predict(
                build_pipeline(seed=seed, **params), np.array(texts, dtype=object), labels,
                cv=StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed),
            )
            cvs[name] = report(f"{name} cross-validation", labels, list(cv_pred), LABEL_SETS[name])
        pipelines[name] = compact(build_pipeline(seed=seed, **params).fit(texts, labels))
    dev_reports, targets = (evaluate_rows(Classifier.from_pipelines(pipelines, {}), dev, registry)
                            if dev else ({}, None))
    for name in MODEL_NAMES:
        cv = cvs[name]
        metadata = {
            "training_data_sha256": dhash,
            "training_examples": sum(counts[name].values()),
            "human_labels": sum(1 for e in examples if e.source == "human"),
            "code_version": CODE_VERSION,
            "git_commit": _git_commit(),
            "library_versions": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
            "label_set": list(LABEL_SETS[name]),
            "labels_seen": sorted(counts[name]),
            "seed": seed,
            "pipeline": {"steps": [step for step, _ in pipelines[name].steps], "params": params},
            "trained_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "metrics": {
                "cross_validation": cv.to_dict() if cv else None,
                "dev": dev_reports[name].to_dict() if name in dev_reports else None,
                "dev_targets": targets,
            },
            "note": (f"trained on aduan posts only; non-aduan posts get {NO_MALADMINISTRATION}"
                     if name == "maladministration" else ""),
        }
        card = _card(name, version, metadata["training_examples"], counts[name], cv,
                     dev_reports.get(name))
        save_artifact(models_dir, name, version, pipelines[name], metadata, card)
        log.info("trained %s/%s on %d examples (cv macro-F1 %s)", name, version,
                 metadata["training_examples"], f"{cv.macro_f1:.3f}" if cv else "skipped")
    versions = {name: version for name in MODEL_NAMES}
    if do_promote:
        promote(models_dir, versions)
    return versions


def evaluate_rows(classifier: Classifier, rows: Sequence[dict],
                  registry: Registry | None = None) -> tuple[dict[str, Report], dict]:
    """Per-model reports and the issue's target figures of `classifier` on labeled rows.

    Maladministration is scored on the gold-aduan rows, with the label the classifier gives
    (tidak_ada when it does not see an aduan), as the targets define it. With `registry`, the
    substance is the one triage gives: the named agency's sector where the model is less sure,
    or the agency of the row's "query" when it names none (triage.sector).
    """
    texts = [str(r["text"]) for r in rows]
    labels = classifier.predict(texts)
    if registry is not None:
        labels = with_agency_sectors(labels, texts, registry, [r.get("query") for r in rows])
    predicted = [p.to_dict() for p in labels]
    predicted_labels = [{n: p[n]["label"] for n in MODEL_NAMES} for p in predicted]
    reports = {}
    for name in MODEL_NAMES:
        pairs = [(r[name], q[name]) for r, q in zip(rows, predicted_labels, strict=True)
                 if name != "maladministration" or r["kind"] == "aduan"]
        seen = {label for pair in pairs for label in pair}
        labels_shown = [label for label in LABEL_SETS[name] if label in seen]
        reports[name] = report(name, [g for g, _ in pairs], [q for _, q in pairs], labels_shown)
    targets = target_figures(rows, predicted_labels)
    if registry is not None:
        targets.update(_substance_by_mention(rows, predicted_labels, registry))
    return reports, targets


def _substance_by_mention(rows: Sequence[dict], predicted: Sequence[dict],
                          registry: Registry) -> dict[str, float]:
    """Substance accuracy (gold not none) split by whether the post's own text names an agency:
    where it names none, the sector must come from the words alone or the collecting query."""
    tally = {"names_agency": [0, 0], "names_none": [0, 0]}
    for row, labels in zip(rows, predicted, strict=True):
        if row["substance"] == "none":
            continue
        group = tally["names_agency" if registry.resolve(str(row["text"])) else "names_none"]
        group[0] += labels["substance"] == row["substance"]
        group[1] += 1
    out: dict[str, float] = {}
    for name, (right, n) in tally.items():
        out[f"substance_accuracy_{name}"] = round(right / n, 4) if n else 0.0
        out[f"substance_rows_{name}"] = n
    return out


def compare(rows: Sequence[dict], old: Classifier | None, new: Classifier,
            registry: Registry | None = None) -> dict[str, Any]:
    """How `new` differs from `old` (None: no production model yet) on labeled rows.

    Returns the target figures of both, per-class F1 of both with the change, and the rows whose
    label turned right ("fixed") or wrong ("broken") for each model.
    """
    new_reports, new_targets = evaluate_rows(new, rows, registry)
    old_reports, old_targets = evaluate_rows(old, rows, registry) if old is not None else ({}, None)
    per_class = []
    for name in MODEL_NAMES:
        labels = list(new_reports[name].labels)
        if name in old_reports:
            labels += [x for x in old_reports[name].labels if x not in labels]
        for label in labels:
            new_m = new_reports[name].per_class.get(label, {})
            old_m = old_reports[name].per_class.get(label, {}) if name in old_reports else {}
            support = new_m.get("support", old_m.get("support", 0))
            per_class.append({
                "model": name, "label": label, "support": support,
                "f1_old": old_m.get("f1"), "f1_new": new_m.get("f1", 0.0),
                "change": None if not old_m else round(new_m.get("f1", 0.0) - old_m["f1"], 4),
            })
    changed = []
    if old is not None:
        texts = [str(r["text"]) for r in rows]
        for row, o, n in zip(rows, old.predict(texts), new.predict(texts), strict=True):
            for name in MODEL_NAMES:
                if name == "maladministration" and row["kind"] != "aduan":
                    continue
                before, after = getattr(o, name).label, getattr(n, name).label
                if before != after and row[name] in (before, after):
                    changed.append({"id": row.get("id"), "model": name, "gold": row[name],
                                    "old": before, "new": after, "text": row["text"],
                                    "status": "fixed" if after == row[name] else "broken"})
    return {"targets": {"old": old_targets, "new": new_targets}, "per_class": per_class,
            "changed": changed}

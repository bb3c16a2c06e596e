"""The three triage classifiers (kind, substance, maladministration) and their evidence.

Serving side, numpy only: each model is a `triage.linear.LinearModel` read out of a fitted
scikit-learn pipeline (triage.estimators). `Classifier` tokenises and hashes a batch once
(triage.features), then gives each model the same hashed batch. Evidence comes from the same
weights: a word's push towards a label is the sum, over its hashed n-grams, of idf x the linear
model's weight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from triage.features import FeatureSpec, HashedBatch
from triage.linear import LinearModel
from triage.text import Token, tokenize

MODEL_NAMES = ("kind", "substance", "maladministration")
NO_MALADMINISTRATION = "tidak_ada"
EVIDENCE_KINDS = frozenset({"word", "hashtag", "mention"})  # tokens that may be shown as evidence


@dataclass(frozen=True, slots=True)
class LabelPrediction:
    """One label of a post."""

    label: str  # the label id (LABELS.md)
    score: float  # calibrated probability of that label
    alternatives: tuple[tuple[str, float], ...]  # runner-up labels with their probabilities
    evidence: tuple[str, ...]  # phrases of the post that pushed it to this label

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "score": round(self.score, 4),
            "alternatives": [[lab, round(p, 4)] for lab, p in self.alternatives],
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True, slots=True)
class Labels:
    kind: LabelPrediction
    substance: LabelPrediction
    maladministration: LabelPrediction

    def to_dict(self) -> dict:
        return {name: getattr(self, name).to_dict() for name in MODEL_NAMES}




def _phrases(text: str, tokens: list[Token], scores: np.ndarray, limit: int) -> tuple[str, ...]:
    """Runs of adjacent tokens scoring at least 35% of the best one, strongest first.
    (Plain lists: a post has a few dozen tokens, too few for numpy calls to pay off.)"""
    values = scores.tolist()
    best = max(values, default=0.0)
    if best <= 0:
        return ()
    floor = best * 0.35
    phrases: list[tuple[float, int, int]] = []
    run_score, run_start, run_end, last = 0.0, -1, -1, -2
    for i, value in enumerate(values):
        if value < floor or tokens[i].kind not in EVIDENCE_KINDS:
            continue
        if i == last + 1 and run_start >= 0:
            run_score += value
            run_end = tokens[i].end
        else:
            if run_start >= 0:
                phrases.append((run_score, run_start, run_end))
            run_score, run_start, run_end = value, tokens[i].start, tokens[i].end
        last = i
    if run_start >= 0:
        phrases.append((run_score, run_start, run_end))
    phrases.sort(key=lambda p: -p[0])
    shown: dict[str, str] = {}  # one of each phrase, whatever its case
    for _, a, b in phrases:
        shown.setdefault(text[a:b].lower(), text[a:b])
    return tuple(shown.values())[:limit]


class Classifier:
    """Three models; `versions` names the artifacts they came from."""

    def __init__(self, models: Mapping[str, LinearModel], versions: Mapping[str, str]) -> None:
        missing = [name for name in MODEL_NAMES if name not in models]
        if missing:
            raise ValueError(f"missing models: {', '.join(missing)}")
        self.models = dict(models)
        self.versions = dict(versions)

    @classmethod
    def from_pipelines(cls, pipelines: Mapping[str, Any], versions: Mapping[str, str]) -> Classifier:
        """From fitted scikit-learn pipelines (training, tests)."""
        return cls({name: LinearModel.from_pipeline(p) for name, p in pipelines.items()}, versions)

    def predict(self, texts: Sequence[str]) -> list[Labels]:
        """Labels for a batch of (redacted) post texts."""
        if not len(texts):
            return []
        texts = [str(t) for t in texts]
        tokens = [tokenize(t) for t in texts]  # once, shared by the three models
        batches: dict[FeatureSpec, HashedBatch] = {}  # hashed once per feature spec (normally one)
        every = np.arange(len(texts))
        kind = self._predict_one("kind", texts, tokens, batches, every)
        substance = self._predict_one("substance", texts, tokens, batches, every)
        aduan = np.array([i for i, k in enumerate(kind) if k.label == "aduan"], dtype=np.int64)
        mal_rows = self._predict_one("maladministration", texts, tokens, batches, aduan) if len(aduan) else []
        mal: dict[int, LabelPrediction] = dict(zip(aduan.tolist(), mal_rows, strict=True))
        labels = []
        for i in range(len(texts)):
            m = mal.get(i)
            if m is None:  # not a complaint: no maladministration, as sure as it is no aduan
                m = LabelPrediction(NO_MALADMINISTRATION, round(1.0 - _aduan_p(kind[i]), 4), (), ())
            labels.append(Labels(kind[i], substance[i], m))
        return labels

    def _predict_one(
        self, name: str, texts: list[str], tokens: list[list[Token]],
        batches: dict[FeatureSpec, HashedBatch], rows: np.ndarray,
    ) -> list[LabelPrediction]:
        model = self.models[name]
        if model.spec not in batches:
            batches[model.spec] = HashedBatch.build(texts, tokens, model.spec)
        batch = batches[model.spec]
        proba = model.predict_proba(batch, rows)
        order = np.argsort(-proba, axis=1)
        scores = model.push(batch, rows, order[:, 0])
        classes = model.classes
        out = []
        for j, row in enumerate(rows.tolist()):
            top = order[j]
            best = int(top[0])
            alternatives = tuple((classes[k], float(proba[j, k])) for k in top[1:3])
            lo, hi = batch.offsets[row], batch.offsets[row + 1]
            evidence = _phrases(texts[row], tokens[row], scores[lo:hi], limit=3)
            out.append(LabelPrediction(classes[best], float(proba[j, best]), alternatives, evidence))
        return out


def _aduan_p(kind: LabelPrediction) -> float:
    if kind.label == "aduan":
        return kind.score
    return dict(kind.alternatives).get("aduan", 0.0)

"""The three triage classifiers (kind, substance, maladministration) and their evidence.

`build_pipeline` is the factory shared by training and serving: text normalisation lives inside
the scikit-learn Pipeline, so a saved model carries its own preprocessing. `Classifier` holds the
three fitted pipelines and labels posts in batches, each label with its calibrated probability,
its runner-up labels and the post's own words that pushed it there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from triage.text import normalize, tokenize

MODEL_NAMES = ("kind", "substance", "maladministration")
NO_MALADMINISTRATION = "tidak_ada"


class TextNormalizer(TransformerMixin, BaseEstimator):
    """Raw post text -> normalised stems (triage.text.normalize). Stateless."""

    def fit(self, X, y=None):  # noqa: ANN001, ANN201, N803 - scikit-learn's signature
        return self

    def transform(self, X):  # noqa: ANN001, ANN201, N803
        return [normalize(str(text)) for text in X]

    def __sklearn_tags__(self):  # noqa: ANN204
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags


def build_pipeline(*, c: float = 4.0, seed: int = 13) -> Pipeline:
    """The model factory: normalise -> word and character TF-IDF -> calibrated logistic regression."""
    features = FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    token_pattern=r"\S+", ngram_range=(1, 2), sublinear_tf=True, min_df=1,
                    lowercase=False, dtype=np.float32,
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2,
                    max_features=60_000, lowercase=False, dtype=np.float32,
                ),
            ),
        ]
    )
    model = CalibratedClassifierCV(
        LogisticRegression(C=c, class_weight="balanced", max_iter=3000, random_state=seed),
        method="sigmoid",
        cv=3,
        ensemble=False,  # one base model fitted on all data: its weights explain the evidence
    )
    return Pipeline([("normalize", TextNormalizer()), ("features", features), ("model", model)])


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


def _base_estimator(pipeline: Pipeline) -> LogisticRegression:
    return pipeline.named_steps["model"].calibrated_classifiers_[0].estimator


def _evidence(
    text: str, row, pipeline: Pipeline, class_index: int, limit: int = 3  # noqa: ANN001
) -> tuple[str, ...]:
    """Phrases of `text` whose word features pushed the prediction towards `class_index`."""
    words_vec: TfidfVectorizer = pipeline.named_steps["features"].transformer_list[0][1]
    vocab = words_vec.vocabulary_
    coef = _base_estimator(pipeline).coef_
    weights = coef[class_index] if coef.shape[0] > 1 else (coef[0] if class_index == 1 else -coef[0])
    n_words = len(vocab)
    word_row = row[:, :n_words]
    values = dict(zip(word_row.indices, word_row.data, strict=False))

    tokens = tokenize(text)
    scores = []
    for token in tokens:
        total = 0.0
        for word in token.words:
            j = vocab.get(word)
            if j is not None and j in values:
                total += float(values[j] * weights[j])
        scores.append(total)
    # bigram credit goes to both tokens
    flat = [(i, w) for i, t in enumerate(tokens) for w in t.words]
    for (i, a), (k, b) in zip(flat, flat[1:], strict=False):
        j = vocab.get(f"{a} {b}")
        if j is not None and j in values:
            share = float(values[j] * weights[j]) / 2
            scores[i] += share
            scores[k] += share
    positive = [s for s in scores if s > 0]
    if not positive:
        return ()
    threshold = max(positive) * 0.35
    phrases: list[tuple[float, int, int]] = []
    start = None
    best = 0.0
    for i, score in enumerate(scores + [0.0]):
        keep = i < len(tokens) and score >= threshold and tokens[i].kind in ("word", "hashtag", "mention")
        if keep:
            if start is None:
                start, best = i, 0.0
            best += score
        elif start is not None:
            phrases.append((best, tokens[start].start, tokens[i - 1].end))
            start = None
    phrases.sort(reverse=True)
    return tuple(text[a:b] for _, a, b in phrases[:limit])


class Classifier:
    """Three fitted pipelines; `versions` names the artifacts they came from."""

    def __init__(self, pipelines: Mapping[str, Pipeline], versions: Mapping[str, str]) -> None:
        missing = [name for name in MODEL_NAMES if name not in pipelines]
        if missing:
            raise ValueError(f"missing models: {', '.join(missing)}")
        self.pipelines = dict(pipelines)
        self.versions = dict(versions)

    def predict(self, texts: Sequence[str]) -> list[Labels]:
        """Labels for a batch of (redacted) post texts."""
        if not texts:
            return []
        normalized = [normalize(t) for t in texts]  # once, shared by the three models
        results: dict[str, list[LabelPrediction]] = {}
        for name in MODEL_NAMES:
            results[name] = self._predict_one(name, texts, normalized)
        labels = []
        for i in range(len(texts)):
            kind = results["kind"][i]
            mal = results["maladministration"][i]
            if kind.label != "aduan":
                mal = LabelPrediction(NO_MALADMINISTRATION, round(1.0 - _aduan_p(kind), 4), (), ())
            labels.append(Labels(kind, results["substance"][i], mal))
        return labels

    def _predict_one(
        self, name: str, texts: Sequence[str], normalized: list[str]
    ) -> list[LabelPrediction]:
        pipeline = self.pipelines[name]
        matrix = pipeline.named_steps["features"].transform(normalized).tocsr()
        proba = pipeline.named_steps["model"].predict_proba(matrix)
        classes = pipeline.named_steps["model"].classes_
        out = []
        order = np.argsort(-proba, axis=1)
        for i, text in enumerate(texts):
            top = order[i]
            best = int(top[0])
            alternatives = tuple((str(classes[j]), float(proba[i, j])) for j in top[1:3])
            evidence = _evidence(text, matrix[i], pipeline, best)
            out.append(LabelPrediction(str(classes[best]), float(proba[i, best]), alternatives, evidence))
        return out


def _aduan_p(kind: LabelPrediction) -> float:
    if kind.label == "aduan":
        return kind.score
    return dict(kind.alternatives).get("aduan", 0.0)

"""The three triage classifiers (kind, substance, maladministration) and their evidence.

`build_pipeline` is the factory shared by training and serving: text normalisation lives inside
the scikit-learn Pipeline, so a saved model carries its own preprocessing:

    normalize (raw text -> stems, triage.text)  -> ngrams (hashed word and character n-grams,
    stateless)  -> select (the columns seen in training)  -> tfidf  -> model (calibrated
    linear classifier)

The first two steps hold no learned state, so a saved model has no vocabulary to (de)serialise,
and the three models share them: `Classifier` normalises and hashes a batch once, then runs each
model's own `select -> tfidf -> model` on it. Evidence comes from the same weights: a word's
push towards a label is the sum, over its hashed n-grams, of idf x the linear model's weight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC
from sklearn.utils import murmurhash3_32
from sklearn.utils.validation import check_is_fitted, validate_data

from triage.text import Token, normalize_tokens, tokenize

MODEL_NAMES = ("kind", "substance", "maladministration")
NO_MALADMINISTRATION = "tidak_ada"
EVIDENCE_KINDS = frozenset({"word", "hashtag", "mention"})  # tokens that may be shown as evidence


class TextNormalizer(TransformerMixin, BaseEstimator):
    """Raw post text -> normalised stems (triage.text.normalize). Stateless."""

    def fit(self, X, y=None):  # noqa: ANN001, ANN201, N803 - scikit-learn's signature
        return self

    def transform(self, X):  # noqa: ANN001, ANN201, N803
        return [normalize_tokens(t, tokenize(t)) for t in map(str, X)]

    def __sklearn_tags__(self):  # noqa: ANN204
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags


@lru_cache(maxsize=300_000)
def _word_columns(word: str, n_features: int, cmin: int, cmax: int) -> np.ndarray:
    """Hashed columns of one stem: the word itself and its character n-grams (padded)."""
    keys = ["w " + word]
    padded = f" {word} "
    for n in range(cmin, cmax + 1):
        keys += ["c " + padded[i : i + n] for i in range(len(padded) - n + 1)]
    return np.array([murmurhash3_32(k, positive=True) % n_features for k in keys], dtype=np.int32)


@lru_cache(maxsize=300_000)
def _pair_column(pair: str, n_features: int) -> int:
    return murmurhash3_32("b " + pair, positive=True) % n_features


class HashedNgrams(TransformerMixin, BaseEstimator):
    """Space-separated stems -> counts of hashed words, word bigrams and character n-grams.

    Like HashingVectorizer, but the n-grams of each distinct word are hashed once per process
    (cached), which makes it several times faster on posts. Stateless.
    """

    def __init__(
        self, n_features: int = 2**20, bigrams: bool = True, char_ngrams: tuple[int, int] | None = (3, 5)
    ) -> None:
        self.n_features = n_features
        self.bigrams = bigrams
        self.char_ngrams = char_ngrams

    def fit(self, X, y=None):  # noqa: ANN001, ANN201, N803
        return self

    def transform(self, X):  # noqa: ANN001, ANN201, N803
        cmin, cmax = self.char_ngrams or (0, -1)
        parts: list[np.ndarray] = []
        indptr = [0]
        total = 0
        for doc in X:
            words = str(doc).split()
            arrays = [_word_columns(w, self.n_features, cmin, cmax) for w in words]
            if self.bigrams and len(words) > 1:
                pairs = [_pair_column(f"{a} {b}", self.n_features)
                         for a, b in zip(words, words[1:], strict=False)]
                arrays.append(np.array(pairs, dtype=np.int32))
            for array in arrays:
                total += len(array)
            parts.extend(arrays)
            indptr.append(total)
        indices = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        matrix = sp.csr_matrix(
            (np.ones(len(indices), dtype=np.float32), indices, np.array(indptr, dtype=np.int64)),
            shape=(len(indptr) - 1, self.n_features),
        )
        matrix.sum_duplicates()
        return matrix

    def __sklearn_tags__(self):  # noqa: ANN204
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags


class ColumnSelector(TransformerMixin, BaseEstimator):
    """Keeps the columns present in at least `min_df` training rows (at most `max_features`,
    the most frequent): hashed features never seen in training carry no weight, and dropping
    them keeps the model small."""

    def __init__(self, min_df: int = 2, max_features: int | None = None) -> None:
        self.min_df = min_df
        self.max_features = max_features

    def fit(self, X, y=None):  # noqa: ANN001, ANN201, N803
        X = validate_data(self, X, accept_sparse="csr", dtype=(np.float32, np.float64))
        df = np.asarray((X != 0).sum(axis=0)).ravel()
        keep = np.flatnonzero(df >= self.min_df)
        if self.max_features is not None and len(keep) > self.max_features:
            order = np.argsort(-df[keep], kind="stable")[: self.max_features]
            keep = np.sort(keep[order])
        self.columns_ = keep.astype(np.int64)
        return self

    def transform(self, X):  # noqa: ANN001, ANN201, N803
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=(np.float32, np.float64), reset=False)
        return X[:, self.columns_]


def build_pipeline(
    *,
    c: float = 0.5,
    seed: int = 13,
    char_ngrams: tuple[int, int] | None = None,
    min_df: int = 2,
    max_features: int | None = 60_000,
    class_weight: str | None = "balanced",
    calibration_folds: int = 3,
) -> Pipeline:
    """The model factory: normalise -> hashed n-grams -> seen columns -> TF-IDF -> calibrated SVM.

    Words and word bigrams only by default: on the dev set character n-grams (3-5) scored no
    better and made the models three times larger and slower.
    """
    model = CalibratedClassifierCV(
        LinearSVC(C=c, class_weight=class_weight, random_state=seed),
        method="sigmoid",
        cv=calibration_folds,
        ensemble=False,  # one base model fitted on all data: its weights explain the evidence
    )
    return Pipeline(
        [
            ("normalize", TextNormalizer()),
            ("ngrams", HashedNgrams(char_ngrams=char_ngrams)),
            ("select", ColumnSelector(min_df=min_df, max_features=max_features)),
            ("tfidf", TfidfTransformer(sublinear_tf=True)),
            ("model", model),
        ]
    )


def compact(pipeline: Pipeline) -> Pipeline:
    """Store the fitted linear weights as float32 (half the artifact, same predictions)."""
    base = _base_estimator(pipeline)
    base.coef_ = base.coef_.astype(np.float32)
    tfidf = pipeline.named_steps["tfidf"]
    tfidf.idf_ = tfidf.idf_.astype(np.float32)
    return pipeline


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


def _base_estimator(pipeline: Pipeline):  # noqa: ANN202
    return pipeline.named_steps["model"].calibrated_classifiers_[0].estimator


class _Explainer:
    """Per-word pushes of one fitted pipeline towards each of its classes, cached per word."""

    def __init__(self, pipeline: Pipeline) -> None:
        ngrams: HashedNgrams = pipeline.named_steps["ngrams"]
        self.params = (ngrams.n_features, *(ngrams.char_ngrams or (0, -1)))
        self.bigrams = ngrams.bigrams
        columns = pipeline.named_steps["select"].columns_
        idf = np.asarray(pipeline.named_steps["tfidf"].idf_, dtype=np.float32)
        coef = np.asarray(_base_estimator(pipeline).coef_, dtype=np.float32)
        if coef.shape[0] == 1:  # binary: one row of weights for classes_[1]
            coef = np.vstack([-coef[0], coef[0]])
        self.columns = columns
        self.weights = (coef * idf).T.copy()  # (n_columns, n_classes): idf x weight
        self.cache: dict[str, np.ndarray] = {}
        self.zero = np.zeros(self.weights.shape[1], dtype=np.float32)

    def _push(self, cols: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self.columns, cols)
        inside = pos < len(self.columns)
        pos = pos[inside]
        hit = pos[self.columns[pos] == cols[inside]]
        return self.weights[hit].sum(axis=0) if len(hit) else self.zero

    def word(self, word: str) -> np.ndarray:
        push = self.cache.get(word)
        if push is None:
            push = self._push(_word_columns(word, *self.params))
            self.cache[word] = push
        return push

    def pair(self, a: str, b: str) -> np.ndarray:
        key = f"{a} {b}"
        push = self.cache.get(key)
        if push is None:
            col = np.array([_pair_column(key, self.params[0])], dtype=np.int32)
            push = self._push(col) / 2  # credit shared by the two words
            self.cache[key] = push
        return push

    def evidence(
        self, text: str, tokens: Sequence[Token], class_index: int, limit: int = 3
    ) -> tuple[str, ...]:
        """Phrases of `text` whose words pushed the prediction towards `class_index`."""
        scores = [0.0] * len(tokens)
        flat = [(i, w) for i, t in enumerate(tokens) for w in t.words]
        for i, w in flat:
            scores[i] += float(self.word(w)[class_index])
        if self.bigrams:
            for (i, a), (k, b) in zip(flat, flat[1:], strict=False):
                share = float(self.pair(a, b)[class_index])
                scores[i] += share
                scores[k] += share
        best = max(scores, default=0.0)
        if best <= 0:
            return ()
        threshold = best * 0.35
        phrases: list[tuple[float, int, int]] = []
        start, total = -1, 0.0
        for i in range(len(tokens) + 1):
            keep = i < len(tokens) and scores[i] >= threshold and tokens[i].kind in EVIDENCE_KINDS
            if keep:
                if start < 0:
                    start, total = i, 0.0
                total += scores[i]
            elif start >= 0:
                phrases.append((total, tokens[start].start, tokens[i - 1].end))
                start = -1
        phrases.sort(key=lambda p: -p[0])
        return tuple(text[a:b] for _, a, b in phrases[:limit])


def _same_params(steps: Sequence[BaseEstimator]) -> bool:
    first = steps[0].get_params()
    return all(step.get_params() == first for step in steps[1:])


class Classifier:
    """Three fitted pipelines; `versions` names the artifacts they came from."""

    def __init__(self, pipelines: Mapping[str, Pipeline], versions: Mapping[str, str]) -> None:
        missing = [name for name in MODEL_NAMES if name not in pipelines]
        if missing:
            raise ValueError(f"missing models: {', '.join(missing)}")
        self.pipelines = dict(pipelines)
        self.versions = dict(versions)
        steps = [self.pipelines[n].named_steps for n in MODEL_NAMES]
        self._shared = _same_params([s["normalize"] for s in steps]) and _same_params(
            [s["ngrams"] for s in steps]
        )
        self._explainers = {name: _Explainer(self.pipelines[name]) for name in MODEL_NAMES}

    def predict(self, texts: Sequence[str]) -> list[Labels]:
        """Labels for a batch of (redacted) post texts."""
        if not texts:
            return []
        texts = [str(t) for t in texts]
        tokens = [tokenize(t) for t in texts]  # once, shared by the three models
        hashed = None
        if self._shared:  # normalise and hash once, shared by the three models
            normalized = [normalize_tokens(t, toks) for t, toks in zip(texts, tokens, strict=True)]
            hashed = self.pipelines[MODEL_NAMES[0]].named_steps["ngrams"].transform(normalized)
        kind = self._predict_one("kind", texts, tokens, hashed, None)
        substance = self._predict_one("substance", texts, tokens, hashed, None)
        aduan = [i for i, k in enumerate(kind) if k.label == "aduan"]
        mal_rows = self._predict_one("maladministration", texts, tokens, hashed, aduan) if aduan else []
        mal: dict[int, LabelPrediction] = dict(zip(aduan, mal_rows, strict=True))
        labels = []
        for i in range(len(texts)):
            m = mal.get(i)
            if m is None:  # not a complaint: no maladministration, as sure as it is no aduan
                m = LabelPrediction(NO_MALADMINISTRATION, round(1.0 - _aduan_p(kind[i]), 4), (), ())
            labels.append(Labels(kind[i], substance[i], m))
        return labels

    def _predict_one(
        self,
        name: str,
        texts: list[str],
        tokens: list[list[Token]],
        hashed: sp.csr_matrix | None,
        rows: list[int] | None,
    ) -> list[LabelPrediction]:
        pipeline = self.pipelines[name]
        if hashed is not None:
            matrix = pipeline[2:-1].transform(hashed if rows is None else hashed[rows])
        else:
            matrix = pipeline[:-1].transform(texts if rows is None else [texts[i] for i in rows])
        model = pipeline.named_steps["model"]
        proba = model.predict_proba(matrix)
        classes = [str(c) for c in model.classes_]
        order = np.argsort(-proba, axis=1)
        explainer = self._explainers[name]
        out = []
        for j, i in enumerate(range(len(texts)) if rows is None else rows):
            top = order[j]
            best = int(top[0])
            alternatives = tuple((classes[k], float(proba[j, k])) for k in top[1:3])
            evidence = explainer.evidence(texts[i], tokens[i], best)
            out.append(LabelPrediction(classes[best], float(proba[j, best]), alternatives, evidence))
        return out


def _aduan_p(kind: LabelPrediction) -> float:
    if kind.label == "aduan":
        return kind.score
    return dict(kind.alternatives).get("aduan", 0.0)

"""The three triage classifiers (kind, substance, maladministration) and their evidence.

`build_pipeline` is the factory shared by training and serving: text normalisation lives inside
the scikit-learn Pipeline, so a saved model carries its own preprocessing:

    normalize (raw text -> stems, triage.text)  -> ngrams (hashed words and word bigrams, and
    character n-grams if asked; stateless)  -> select (the columns seen in training)  -> tfidf
    -> model (linear SVM, temperature-calibrated)

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

from triage.text import Token, normalize_tokens, post_words, tokenize

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

    def __sklearn_tags__(self):  # noqa: ANN204
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def build_pipeline(
    *,
    c: float = 0.5,
    seed: int = 13,
    char_ngrams: tuple[int, int] | None = None,
    min_df: int = 2,
    max_features: int | None = 60_000,
    class_weight: str | None = "balanced",
    calibration_folds: int = 3,
    calibration: str = "temperature",
) -> Pipeline:
    """The model factory: normalise -> hashed n-grams -> seen columns -> TF-IDF -> calibrated SVM.

    Words and word bigrams only by default: on the dev set character n-grams (3-5) scored no
    better and made the models three times larger and slower. Temperature scaling (one
    parameter, fitted on out-of-fold decision values) keeps the SVM's ranking of the labels and
    scored slightly better than per-class sigmoids.
    """
    model = CalibratedClassifierCV(
        LinearSVC(C=c, class_weight=class_weight, random_state=seed),
        method=calibration,
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


@dataclass
class _Batch:
    """A batch of posts hashed once: the feature matrix plus, for each feature occurrence, the
    post and the token(s) it came from, so evidence is computed with array operations."""

    texts: list[str]
    tokens: list[list[Token]]
    hashed: sp.csr_matrix  # (posts, n_features) counts, as HashedNgrams would give
    cols: np.ndarray  # column of every feature occurrence
    post: np.ndarray  # its post
    first: np.ndarray  # global index of the token it came from (-1: none)
    second: np.ndarray  # second token of a word bigram (-1: none): each gets half the credit
    offsets: np.ndarray  # global index of each post's first token (n_posts + 1)

    @classmethod
    def build(cls, texts: list[str], tokens: list[list[Token]], ngrams: HashedNgrams) -> _Batch:
        n_features, (cmin, cmax) = ngrams.n_features, ngrams.char_ngrams or (0, -1)
        parts: list[np.ndarray] = []
        first: list[int] = []  # per part element group: token credited, see `lengths`
        second: list[int] = []
        lengths: list[int] = []
        indptr = [0]
        offsets = [0]
        for text, toks in zip(texts, tokens, strict=True):
            base = offsets[-1]
            words, owners = post_words(text, toks)
            owned = [base + o if o >= 0 else -1 for o in owners]
            total = indptr[-1]
            for word, owner in zip(words, owned, strict=True):
                array = _word_columns(word, n_features, cmin, cmax)
                parts.append(array)
                lengths.append(len(array))
                total += len(array)
                first.append(owner)
                second.append(-1)
            if ngrams.bigrams and len(words) > 1:
                pairs = [_pair_column(f"{a} {b}", n_features) for a, b in zip(words, words[1:], strict=False)]
                parts.append(np.array(pairs, dtype=np.int32))
                lengths += [1] * len(pairs)
                total += len(pairs)
                first += owned[:-1]
                second += owned[1:]
            indptr.append(total)
            offsets.append(base + len(toks))
        cols = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        reps = np.array(lengths, dtype=np.int64)
        post = np.repeat(np.arange(len(texts)), np.diff(np.array(indptr)))
        hashed = sp.csr_matrix(
            (np.ones(len(cols), dtype=np.float32), cols.copy(), np.array(indptr, dtype=np.int64)),  # copy:
            # sum_duplicates sorts the indices in place, and `cols` must keep its order
            shape=(len(texts), n_features),
        )
        hashed.sum_duplicates()
        return cls(texts, tokens, hashed, cols, post,
                   np.repeat(np.array(first, dtype=np.int64), reps),
                   np.repeat(np.array(second, dtype=np.int64), reps), np.array(offsets))


class _Explainer:
    """The push of every kept feature of one fitted pipeline towards each class: idf x weight."""

    def __init__(self, pipeline: Pipeline) -> None:
        columns = pipeline.named_steps["select"].columns_
        idf = np.asarray(pipeline.named_steps["tfidf"].idf_, dtype=np.float32)
        coef = np.asarray(_base_estimator(pipeline).coef_, dtype=np.float32)
        if coef.shape[0] == 1:  # binary: one row of weights, for classes_[1]
            coef = np.vstack([-coef[0], coef[0]])
        self.weights = (coef * idf).T.copy()  # (n_columns, n_classes)
        self.row_of_col = np.full(pipeline.named_steps["ngrams"].n_features, -1, dtype=np.int32)
        self.row_of_col[columns] = np.arange(len(columns), dtype=np.int32)

    def evidence(
        self, batch: _Batch, rows: np.ndarray, classes: np.ndarray, limit: int = 3
    ) -> list[tuple[str, ...]]:
        """Per row (a post of the batch), the phrases that pushed it towards its class."""
        wanted = np.full(len(batch.texts), -1, dtype=np.int64)
        wanted[rows] = classes
        feature_rows = self.row_of_col[batch.cols]
        keep = (feature_rows >= 0) & (wanted[batch.post] >= 0) & (batch.first >= 0)
        push = self.weights[feature_rows[keep], wanted[batch.post[keep]]]
        first, second = batch.first[keep], batch.second[keep]
        paired = second >= 0
        push = np.where(paired, push / 2, push)
        scores = np.zeros(batch.offsets[-1] + 1, dtype=np.float32)
        np.add.at(scores, first, push)
        np.add.at(scores, second[paired], push[paired])
        out = []
        for row in rows:
            lo, hi = batch.offsets[row], batch.offsets[row + 1]
            out.append(_phrases(batch.texts[row], batch.tokens[row], scores[lo:hi], limit))
        return out


def _phrases(text: str, tokens: list[Token], scores: np.ndarray, limit: int) -> tuple[str, ...]:
    """Runs of adjacent tokens scoring at least 35% of the best one, strongest first."""
    if not len(scores):
        return ()
    best = float(scores.max())
    if best <= 0:
        return ()
    strong = np.flatnonzero(scores >= best * 0.35)
    phrases: list[tuple[float, int, int]] = []
    run: list[int] = []
    for i in [*strong.tolist(), -2]:
        if run and (i != run[-1] + 1 or tokens[i].kind not in EVIDENCE_KINDS):
            phrases.append((float(scores[run].sum()), tokens[run[0]].start, tokens[run[-1]].end))
            run = []
        if i >= 0 and tokens[i].kind in EVIDENCE_KINDS:
            run.append(i)
    phrases.sort(key=lambda p: -p[0])
    shown: dict[str, str] = {}  # one of each phrase, whatever its case
    for _, a, b in phrases:
        shown.setdefault(text[a:b].lower(), text[a:b])
    return tuple(shown.values())[:limit]


class Classifier:
    """Three fitted pipelines; `versions` names the artifacts they came from."""

    def __init__(self, pipelines: Mapping[str, Pipeline], versions: Mapping[str, str]) -> None:
        missing = [name for name in MODEL_NAMES if name not in pipelines]
        if missing:
            raise ValueError(f"missing models: {', '.join(missing)}")
        self.pipelines = dict(pipelines)
        self.versions = dict(versions)
        self._explainers = {name: _Explainer(self.pipelines[name]) for name in MODEL_NAMES}

    def predict(self, texts: Sequence[str]) -> list[Labels]:
        """Labels for a batch of (redacted) post texts."""
        if not len(texts):
            return []
        texts = [str(t) for t in texts]
        tokens = [tokenize(t) for t in texts]  # once, shared by the three models
        batches: dict[str, _Batch] = {}  # hashed once per distinct n-gram setting (normally one)
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
        self, name: str, texts: list[str], tokens: list[list[Token]], batches: dict[str, _Batch],
        rows: np.ndarray,
    ) -> list[LabelPrediction]:
        pipeline = self.pipelines[name]
        ngrams = pipeline.named_steps["ngrams"]
        key = repr(sorted(ngrams.get_params().items()))
        if key not in batches:
            batches[key] = _Batch.build(texts, tokens, ngrams)
        batch = batches[key]
        hashed = batch.hashed if len(rows) == len(texts) else batch.hashed[rows]
        matrix = pipeline[2:-1].transform(hashed)
        model = pipeline.named_steps["model"]
        proba = model.predict_proba(matrix)
        classes = [str(c) for c in model.classes_]
        order = np.argsort(-proba, axis=1)
        evidence = self._explainers[name].evidence(batch, rows, order[:, 0])
        out = []
        for j in range(len(rows)):
            top = order[j]
            best = int(top[0])
            alternatives = tuple((classes[k], float(proba[j, k])) for k in top[1:3])
            out.append(LabelPrediction(classes[best], float(proba[j, best]), alternatives, evidence[j]))
        return out


def _aduan_p(kind: LabelPrediction) -> float:
    if kind.label == "aduan":
        return kind.score
    return dict(kind.alternatives).get("aduan", 0.0)

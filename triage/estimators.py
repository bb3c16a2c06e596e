"""The scikit-learn side of the classifiers: the estimators and the pipeline factory that
training uses (`pantau train`, the notebook). Serving does not import this module: it reads the
fitted numbers out of the pipeline (triage.linear) and runs them with numpy.

    normalize (raw text -> stems, triage.text)  -> ngrams (hashed words and word bigrams, and
    character n-grams if asked; stateless, triage.features)  -> select (the columns seen in
    training)  -> tfidf  -> model (linear SVM, temperature-calibrated)

The first two steps hold no learned state, so a saved model has no vocabulary to (de)serialise.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted, validate_data

from triage.features import FeatureSpec, hash_docs
from triage.text import normalize_tokens, tokenize


class _StatelessTextTransformer(TransformerMixin, BaseEstimator):
    """A transformer of raw strings that learns nothing: `fit` is a no-op."""

    def fit(self, X, y=None):  # noqa: ANN001, ANN201, N803 - scikit-learn's signature
        return self

    def __sklearn_tags__(self):  # noqa: ANN204
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags


class TextNormalizer(_StatelessTextTransformer):
    """Raw post text -> normalised stems (triage.text.normalize). Stateless."""

    def transform(self, X):  # noqa: ANN001, ANN201, N803
        return [normalize_tokens(t, tokenize(t)) for t in map(str, X)]


class HashedNgrams(_StatelessTextTransformer):
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

    def transform(self, X):  # noqa: ANN001, ANN201, N803
        spec = FeatureSpec(self.n_features, self.bigrams, self.char_ngrams)
        columns, indptr = hash_docs([str(doc) for doc in X], spec)
        matrix = sp.csr_matrix((np.ones(len(columns), dtype=np.float32), columns, indptr),
                               shape=(len(indptr) - 1, self.n_features))
        matrix.sum_duplicates()
        return matrix


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
    base = pipeline.named_steps["model"].calibrated_classifiers_[0].estimator
    base.coef_ = base.coef_.astype(np.float32)
    tfidf = pipeline.named_steps["tfidf"]
    tfidf.idf_ = tfidf.idf_.astype(np.float32)
    return pipeline

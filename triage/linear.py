"""The numbers serving needs from one fitted classifier pipeline, and the maths it does with them.

A trained pipeline (triage.estimators: normalise -> hashed n-grams -> kept columns -> sublinear
TF-IDF with l2 norm -> linear SVM -> temperature scaling) is, once fitted, a handful of arrays.
`LinearModel.from_pipeline` reads them out; `save`/`load` keep them in a compressed .npz beside
the skops artifact. Serving computes the same probabilities with numpy alone, so a triage worker
neither imports scikit-learn and scipy (over 2 s of start-up) nor pays their per-call input
checks. Tests hold these probabilities equal to the pipeline's own `predict_proba`.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from triage.errors import PantauError
from triage.features import FeatureSpec, HashedBatch

FORMAT = 1  # bump when the arrays or their meaning change


class LinearModelError(PantauError):
    """A serving file is missing, damaged or of another format."""


@dataclass(eq=False)
class LinearModel:
    classes: tuple[str, ...]
    spec: FeatureSpec
    columns: np.ndarray  # int32: the hashed columns the model kept, ascending
    idf: np.ndarray  # float32 per kept column
    coef: np.ndarray  # float32 (n_outputs, n_kept): one row per class, or one for a binary model
    intercept: np.ndarray  # float64 (n_outputs,)
    beta: float  # inverse temperature of the calibration
    _row_of_col: np.ndarray = field(init=False, repr=False)
    _weights: np.ndarray = field(init=False, repr=False)
    _push: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._row_of_col = np.full(self.spec.n_features, -1, dtype=np.int32)
        self._row_of_col[self.columns] = np.arange(len(self.columns), dtype=np.int32)
        self._weights = np.ascontiguousarray(self.coef.T, dtype=np.float32)  # (n_kept, n_outputs)
        coef = self.coef if self.coef.shape[0] > 1 else np.vstack([-self.coef[0], self.coef[0]])
        self._push = np.ascontiguousarray((coef * self.idf).T, dtype=np.float32)  # (n_kept, n_classes)

    @classmethod
    def from_pipeline(cls, pipeline: Any) -> LinearModel:  # noqa: ANN401 - a fitted sklearn Pipeline
        steps = pipeline.named_steps
        ngrams = steps["ngrams"]
        calibrated = steps["model"].calibrated_classifiers_
        if len(calibrated) != 1 or len(calibrated[0].calibrators) != 1 or not hasattr(
            calibrated[0].calibrators[0], "beta_"
        ):
            raise LinearModelError("only single temperature-scaled models can be exported for serving")
        tfidf = steps["tfidf"]
        if not tfidf.sublinear_tf or tfidf.norm != "l2" or not tfidf.use_idf:
            raise LinearModelError("serving expects sublinear TF-IDF with l2 norm")
        base = calibrated[0].estimator
        spec = FeatureSpec(int(ngrams.n_features), bool(ngrams.bigrams),
                           tuple(ngrams.char_ngrams) if ngrams.char_ngrams else None)
        return cls(
            classes=tuple(str(c) for c in steps["model"].classes_),
            spec=spec,
            columns=np.asarray(steps["select"].columns_, dtype=np.int32),
            idf=np.asarray(tfidf.idf_, dtype=np.float32),
            coef=np.asarray(base.coef_, dtype=np.float32),
            intercept=np.asarray(base.intercept_, dtype=np.float64),
            beta=float(calibrated[0].calibrators[0].beta_),
        )

    # -- maths ---------------------------------------------------------------------------------

    def _features(self, batch: HashedBatch, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row of the output, kept column, tf-idf value), l2-normalised per post, sorted by post."""
        wanted = np.full(len(batch.texts), -1, dtype=np.int64)
        wanted[rows] = np.arange(len(rows))
        kept = self._row_of_col[batch.cols]
        out = wanted[batch.post]
        keep = (kept >= 0) & (out >= 0)
        n_kept = len(self.columns)
        keys, counts = np.unique(out[keep] * n_kept + kept[keep], return_counts=True)
        post, col = keys // n_kept, keys % n_kept
        value = (np.log(counts) + 1.0) * self.idf[col]
        norm = np.sqrt(np.bincount(post, weights=value * value, minlength=len(rows)))
        return post, col, value / norm[post]

    def decision(self, batch: HashedBatch, rows: np.ndarray) -> np.ndarray:
        """The linear model's decision values for the posts `rows` of the batch."""
        post, col, value = self._features(batch, rows)
        scores = np.zeros((len(rows), self._weights.shape[1]), dtype=np.float64)
        if len(post):
            starts = np.flatnonzero(np.r_[True, post[1:] != post[:-1]])
            scores[post[starts]] = np.add.reduceat(self._weights[col] * value[:, None], starts, axis=0)
        return scores + self.intercept

    def predict_proba(self, batch: HashedBatch, rows: np.ndarray) -> np.ndarray:
        logits = self.decision(batch, rows)
        if logits.shape[1] == 1:  # binary: the calibration sees (-x, x)
            logits = np.hstack([-logits, logits])
        logits = self.beta * logits
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def push(self, batch: HashedBatch, rows: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """Per token of the batch, its push towards the class of its post (evidence): the sum,
        over its hashed n-grams, of idf x the linear weight; a bigram's push is split in two."""
        wanted = np.full(len(batch.texts), -1, dtype=np.int64)
        wanted[rows] = classes
        kept = self._row_of_col[batch.cols]
        keep = (kept >= 0) & (wanted[batch.post] >= 0) & (batch.first >= 0)
        push = self._push[kept[keep], wanted[batch.post[keep]]]
        first, second = batch.first[keep], batch.second[keep]
        paired = second >= 0
        push = np.where(paired, push / 2, push)
        scores = np.zeros(batch.offsets[-1] + 1, dtype=np.float32)
        np.add.at(scores, first, push)
        np.add.at(scores, second[paired], push[paired])
        return scores

    # -- file ----------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        cmin, cmax = self.spec.char_ngrams or (0, -1)
        np.savez_compressed(
            buffer, format=np.int64(FORMAT), classes=np.array(self.classes, dtype=str),
            spec=np.array([self.spec.n_features, int(self.spec.bigrams), cmin, cmax], dtype=np.int64),
            columns=self.columns, idf=self.idf, coef=self.coef, intercept=self.intercept,
            beta=np.float64(self.beta),
        )
        return buffer.getvalue()

    def save(self, path: Path) -> None:
        Path(path).write_bytes(self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "serving file") -> LinearModel:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                if int(arrays["format"]) != FORMAT:
                    raise LinearModelError(f"{where}: format {int(arrays['format'])}, expected {FORMAT}")
                n_features, bigrams, cmin, cmax = (int(v) for v in arrays["spec"])
                model = cls(
                    classes=tuple(str(c) for c in arrays["classes"]),
                    spec=FeatureSpec(n_features, bool(bigrams), (cmin, cmax) if cmax >= cmin else None),
                    columns=arrays["columns"].astype(np.int32), idf=arrays["idf"].astype(np.float32),
                    coef=arrays["coef"].astype(np.float32), intercept=arrays["intercept"].astype(np.float64),
                    beta=float(arrays["beta"]),
                )
        except LinearModelError:
            raise
        except (OSError, ValueError, KeyError, TypeError, IndexError, EOFError, zipfile.BadZipFile) as exc:
            raise LinearModelError(f"{where} cannot be read: {exc}") from None
        outputs = 1 if len(model.classes) == 2 else len(model.classes)
        if model.coef.shape != (outputs, len(model.columns)) or len(model.idf) != len(model.columns) \
                or (len(model.columns) and int(model.columns.max()) >= n_features):
            raise LinearModelError(f"{where}: arrays of inconsistent shapes")
        return model

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        return cls.from_bytes(Path(path).read_bytes(), str(path))

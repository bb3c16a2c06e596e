"""Hashed n-gram features of post texts, shared by training and serving. numpy only.

A stem becomes the hashed column of "w <stem>" (and of its padded character n-grams when a model
asks for them); two neighbouring stems become the column of "b <stem> <stem>". The hash is
MurmurHash3 (x86, 32 bit, seed 0), the same as scikit-learn's `murmurhash3_32`, taken from
`mmh3` so that serving does not have to import scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import mmh3
import numpy as np

from triage.text import Token, post_words


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """How a model hashes its text: the hashing space and the n-grams it uses."""

    n_features: int = 2**20
    bigrams: bool = True
    char_ngrams: tuple[int, int] | None = None


def _hash(key: str, n_features: int) -> int:
    return mmh3.hash(key, 0, signed=False) % n_features


@lru_cache(maxsize=300_000)
def word_columns(word: str, n_features: int, cmin: int, cmax: int) -> tuple[int, ...]:
    """Hashed columns of one stem: the word itself and its character n-grams (padded).
    Plain ints, not an array: most models have one column per word, and gathering ints into a
    list is several times faster than concatenating one small array per word."""
    keys = ["w " + word]
    padded = f" {word} "
    for n in range(cmin, cmax + 1):
        keys += ["c " + padded[i : i + n] for i in range(len(padded) - n + 1)]
    return tuple(_hash(k, n_features) for k in keys)


@lru_cache(maxsize=300_000)
def pair_column(pair: str, n_features: int) -> int:
    return _hash("b " + pair, n_features)


def doc_columns(words: list[str], spec: FeatureSpec) -> tuple[list[int], Sequence[int], int]:
    """The hashed columns of one document's stems: (columns, for each word column the position
    of its word, how many word columns come first). The word bigrams follow, in order."""
    n_features, (cmin, cmax) = spec.n_features, spec.char_ngrams or (0, -1)
    if spec.char_ngrams is None:  # one column per word (the shipped models): the short way
        cols = [word_columns(word, n_features, 0, -1)[0] for word in words]
        source: Sequence[int] = range(len(words))
    else:
        cols, source = [], []
        for j, word in enumerate(words):
            columns = word_columns(word, n_features, cmin, cmax)
            cols += columns
            source += [j] * len(columns)
    n_word_cols = len(cols)
    if spec.bigrams and len(words) > 1:
        cols += [pair_column(f"{a} {b}", n_features) for a, b in zip(words, words[1:], strict=False)]
    return cols, source, n_word_cols


def hash_docs(docs: list[str], spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray]:
    """Normalised documents (space-separated stems) -> (column of every feature occurrence,
    indptr): document i owns columns[indptr[i]:indptr[i + 1]]."""
    columns: list[int] = []
    indptr = [0]
    for doc in docs:
        columns += doc_columns(doc.split(), spec)[0]
        indptr.append(len(columns))
    return np.array(columns, dtype=np.int32), np.array(indptr, dtype=np.int64)


@dataclass
class HashedBatch:
    """A batch of posts hashed once, with, for each feature occurrence, the post and the token(s)
    it came from, so that scores and evidence are array operations over the whole batch."""

    texts: list[str]
    tokens: list[list[Token]]
    cols: np.ndarray  # column of every feature occurrence
    post: np.ndarray  # its post (non-decreasing)
    first: np.ndarray  # global index of the token it came from (-1: none)
    second: np.ndarray  # second token of a word bigram (-1: none): each gets half the credit
    offsets: np.ndarray  # global index of each post's first token (n_posts + 1)

    @classmethod
    def build(cls, texts: list[str], tokens: list[list[Token]], spec: FeatureSpec) -> HashedBatch:
        cols: list[int] = []
        post: list[int] = []
        first: list[int] = []  # per column: the token credited
        second: list[int] = []
        offsets = [0]
        for i, (text, toks) in enumerate(zip(texts, tokens, strict=True)):
            base = offsets[-1]
            words, owners = post_words(text, toks)
            owned = [base + o if o >= 0 else -1 for o in owners]
            columns, source, n_word_cols = doc_columns(words, spec)
            cols += columns
            post += [i] * len(columns)
            # one column per word: the word columns' owners are the words' own
            first += owned if n_word_cols == len(words) else [owned[j] for j in source]
            second += [-1] * n_word_cols
            if len(columns) > n_word_cols:  # bigrams: each of the two words gets half the credit
                first += owned[:-1]
                second += owned[1:]
            offsets.append(base + len(toks))
        return cls(texts, tokens, np.array(cols, dtype=np.int32), np.array(post, dtype=np.int64),
                   np.array(first, dtype=np.int64), np.array(second, dtype=np.int64), np.array(offsets))

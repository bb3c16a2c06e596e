"""Hashed n-gram features of post texts, shared by training and serving. numpy only.

A stem becomes the hashed column of "w <stem>" (and of its padded character n-grams when a model
asks for them); two neighbouring stems become the column of "b <stem> <stem>". The hash is
MurmurHash3 (x86, 32 bit, seed 0), the same as scikit-learn's `murmurhash3_32`, taken from
`mmh3` so that serving does not have to import scikit-learn.
"""

from __future__ import annotations

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
def word_columns(word: str, n_features: int, cmin: int, cmax: int) -> np.ndarray:
    """Hashed columns of one stem: the word itself and its character n-grams (padded)."""
    keys = ["w " + word]
    padded = f" {word} "
    for n in range(cmin, cmax + 1):
        keys += ["c " + padded[i : i + n] for i in range(len(padded) - n + 1)]
    return np.array([_hash(k, n_features) for k in keys], dtype=np.int32)


@lru_cache(maxsize=300_000)
def word_column(word: str, n_features: int) -> int:
    """The hashed column of one stem (the only one when a model has no character n-grams)."""
    return _hash("w " + word, n_features)


@lru_cache(maxsize=300_000)
def pair_column(pair: str, n_features: int) -> int:
    return _hash("b " + pair, n_features)


def hash_docs(docs: list[str], spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray]:
    """Normalised documents (space-separated stems) -> (column of every feature occurrence,
    indptr): document i owns columns[indptr[i]:indptr[i + 1]]."""
    cmin, cmax = spec.char_ngrams or (0, -1)
    parts: list[np.ndarray] = []
    indptr = [0]
    for doc in docs:
        words = doc.split()
        arrays = [word_columns(w, spec.n_features, cmin, cmax) for w in words]
        if spec.bigrams and len(words) > 1:
            arrays.append(np.array([pair_column(f"{a} {b}", spec.n_features)
                                    for a, b in zip(words, words[1:], strict=False)], dtype=np.int32))
        parts.extend(arrays)
        indptr.append(indptr[-1] + sum(len(a) for a in arrays))
    columns = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
    return columns, np.array(indptr, dtype=np.int64)


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
        if spec.char_ngrams is None:
            return cls._build_words(texts, tokens, spec)
        n_features, (cmin, cmax) = spec.n_features, spec.char_ngrams or (0, -1)
        parts: list[np.ndarray] = []
        first: list[int] = []  # per token or bigram: the token credited (see `lengths`)
        second: list[int] = []
        lengths: list[int] = []
        per_post: list[int] = []
        offsets = [0]
        for text, toks in zip(texts, tokens, strict=True):
            base = offsets[-1]
            words, owners = post_words(text, toks)
            owned = [base + o if o >= 0 else -1 for o in owners]
            count = 0
            for word, owner in zip(words, owned, strict=True):
                array = word_columns(word, n_features, cmin, cmax)
                parts.append(array)
                lengths.append(len(array))
                count += len(array)
                first.append(owner)
                second.append(-1)
            if spec.bigrams and len(words) > 1:
                pairs = [pair_column(f"{a} {b}", n_features) for a, b in zip(words, words[1:], strict=False)]
                parts.append(np.array(pairs, dtype=np.int32))
                lengths += [1] * len(pairs)
                count += len(pairs)
                first += owned[:-1]
                second += owned[1:]
            per_post.append(count)
            offsets.append(base + len(toks))
        cols = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        reps = np.array(lengths, dtype=np.int64)
        return cls(texts, tokens, cols, np.repeat(np.arange(len(texts)), per_post),
                   np.repeat(np.array(first, dtype=np.int64), reps),
                   np.repeat(np.array(second, dtype=np.int64), reps), np.array(offsets))

    @classmethod
    def _build_words(cls, texts: list[str], tokens: list[list[Token]], spec: FeatureSpec) -> HashedBatch:
        """`build` for models of words and bigrams only (the shipped ones): one column per word
        or bigram, gathered as plain ints, not as one small array per word."""
        n_features = spec.n_features
        cols: list[int] = []
        post: list[int] = []
        first: list[int] = []
        second: list[int] = []
        offsets = [0]
        for i, (text, toks) in enumerate(zip(texts, tokens, strict=True)):
            base = offsets[-1]
            words, owners = post_words(text, toks)
            owned = [base + o if o >= 0 else -1 for o in owners]
            cols += [word_column(w, n_features) for w in words]
            first += owned
            second += [-1] * len(words)
            count = len(words)
            if spec.bigrams and count > 1:
                cols += [pair_column(f"{a} {b}", n_features) for a, b in zip(words, words[1:], strict=False)]
                first += owned[:-1]
                second += owned[1:]
                count += count - 1
            post += [i] * count
            offsets.append(base + len(toks))
        return cls(texts, tokens, np.array(cols, dtype=np.int32), np.array(post, dtype=np.int64),
                   np.array(first, dtype=np.int64), np.array(second, dtype=np.int64), np.array(offsets))

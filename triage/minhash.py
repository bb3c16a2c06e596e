"""Near-duplicate fingerprints of post texts (pure, numpy): the normalisation used for grouping,
5-byte shingles, MinHash signatures and their LSH band keys, and exact Jaccard for verifying.

The signatures are identical to
`datasketch.MinHash(num_perm=64, seed=1, hashfunc=int).update_batch(shingles)` (a test holds
them so); datasketch itself is not imported here, since it pulls in scipy (about 0.9 s).
"""

from __future__ import annotations

import re

import numpy as np

SHINGLE = 5  # characters per shingle
NUM_PERM = 64
BANDS, ROWS = 16, 4  # LSH banding of the signature: P(candidate | J) = 1 - (1 - J^4)^16
_RT_RE = re.compile(r"^\s*rt\s+@\w+:?\s*")
_STRIP_RE = re.compile(r"https?://\S+|www\.\S+|@\w{1,30}|[^\w@]+|_+|@")  # on lowercased text
_REPEAT_RE = re.compile(r"(.)\1{2,}")
_MASK40 = np.uint64(0xFF_FFFF_FFFF)  # five bytes
_MULT = np.uint64(0x9E37_79B9_7F4A_7C15)  # odd: multiply-shift hashing
# Band keys: a 64-bit mix of a band's four values (two 64-bit words), offset by the band's
# number so that one dict holds every band.
_BAND_MULT = np.uint64(0x9E3779B97F4A7C15)
_BAND_OFFSETS = np.arange(BANDS, dtype=np.uint64) * np.uint64(0xD6E8FEB86659FD93)
if ROWS != 4 or BANDS * ROWS != NUM_PERM:  # band_keys reads a band as two uint64 words
    raise ImportError("triage.minhash: bands must be 4 rows covering the signature")


def band_keys(sig: np.ndarray) -> np.ndarray:
    """The LSH bucket keys of a signature, one per band (uint64)."""
    words = sig.view(np.uint64)
    return (words[0::2] * _BAND_MULT + words[1::2]) ^ _BAND_OFFSETS


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser (datasketch's affine32 input mixing)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def normalize_text(text: str) -> str:
    """Cheap normaliser for grouping: lowercase, no RT prefix, URLs, mentions, punctuation or
    elongations ("bangeeet" -> "banget"); words joined by single spaces."""
    text = text.lower()
    if text.lstrip().startswith("rt @"):
        text = _RT_RE.sub("", text, count=1)
    text = _STRIP_RE.sub(" ", text)
    if _REPEAT_RE.search(text):
        text = _REPEAT_RE.sub(_first_char, text)
    return text.strip()


def _first_char(match: re.Match[str]) -> str:
    return match.group(1)


def shingles(norm: str) -> np.ndarray:
    """Sorted unique 32-bit hashes of the 5-byte windows of a normalised text (UTF-8).

    Each window is read as one little-endian integer straight from the bytes (a strided view),
    masked to 5 bytes and hashed by multiply-shift: four numpy calls whatever the length.
    """
    raw = norm.encode("utf-8")
    if not raw:
        return np.zeros(0, dtype=np.uint32)
    if len(raw) < SHINGLE:
        raw = raw + b" " * (SHINGLE - len(raw))
    n = len(raw) - SHINGLE + 1
    windows = np.ndarray((n,), dtype="<u8", buffer=raw + b"\0\0\0", strides=(1,))
    hashed = (((windows & _MASK40) * _MULT) >> np.uint64(32)).astype(np.uint32)
    hashed.sort()
    if n == 1:
        return hashed
    keep = np.empty(n, dtype=bool)
    keep[0] = True
    np.not_equal(hashed[1:], hashed[:-1], out=keep[1:])
    return hashed[keep]  # sorted and unique


class MinHasher:
    """MinHash signatures of shingle arrays, equal to datasketch's affine32 MinHash."""

    def __init__(self, num_perm: int = NUM_PERM, seed: int = 1) -> None:
        # datasketch's affine32 permutations (odd a, any b), drawn as it draws them; a test holds
        # them equal to datasketch's, which is not imported here (it pulls in scipy: ~0.9 s)
        gen = np.random.RandomState(seed)
        self.a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
        self.b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
        self.num_perm = num_perm

        self._buffer = np.empty((512, num_perm), dtype=np.uint32)  # reused: no allocation

    def signature(self, grams: np.ndarray) -> np.ndarray:
        n = grams.size
        if not n:
            return np.full(self.num_perm, 0xFFFFFFFF, dtype=np.uint32)
        if n > self._buffer.shape[0]:
            self._buffer = np.empty((n, self.num_perm), dtype=np.uint32)
        work = self._buffer[:n]
        np.multiply(_fmix32(grams)[:, None], self.a, out=work)
        np.add(work, self.b, out=work)
        return work.min(axis=0)


def jaccard(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(Jaccard, containment of the smaller in the larger) of two sorted unique arrays."""
    if not a.size or not b.size:
        return 0.0, 0.0
    inter = np.intersect1d(a, b, assume_unique=True).size
    return inter / (a.size + b.size - inter), inter / min(a.size, b.size)

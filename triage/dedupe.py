"""Many posts, one incident: near-duplicate and same-incident grouping into cases (pure).

A `CaseIndex` is fed posts one at a time (`assign`) and answers with the key of the case each
joins. It is kept in memory by each worker and can be rebuilt from stored posts (`rebuild`).
A post joins a case, in this order of evidence:

1. structure: it quotes or replies to a post of the case, shares its conversation, quotes or
   replies to the same post as one of the case's posts, or links the same URL (homepages and
   bare domains do not count);
2. the same normalised text (a hash): retweets, copies with other mentions or links;
3. near-duplicate text (fingerprints in triage.minhash): MinHash signatures (datasketch's
   affine32 scheme, computed for all
   shingles at once) over the 5-byte windows of the normalised UTF-8 text (5-character
   shingles for Indonesian, which is ASCII once normalised), banded into an LSH
   (16 bands of 4 rows), plus the hash of the text's first 48 characters (truncated copies
   keep their beginning), give candidates; each is checked against the signature estimate,
   then verified by the exact Jaccard similarity of the 5-gram sets (>= `threshold`), or by
   containment (>= `containment`) for truncated copies;

always within `window` of the other post's time. Texts shorter than `min_chars` normalised
characters ("mantap", "error lagi") never join by text, only by structure. When one post ties
two live cases together, the younger case is merged into the older (`on_merge` is told, and
`resolve` follows merges).

Cost stays flat as the index grows: entries older than the window (measured from the newest
post seen, not a clock) are dropped from every map and from the LSH, so memory holds only the
posts of the last `window` (about 4 KB each, measured), and each post costs one signature, one LSH
query and a few verifications. (datasketch's own MinHashLSH does the same banding, at about
0.5 ms a post through its storage layer; the banding here is one dict keyed by band and
bucket. The signatures are identical to
`datasketch.MinHash(num_perm=64, seed=1, hashfunc=int).update_batch(shingles)`.)
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from triage.minhash import NUM_PERM, MinHasher, band_keys, jaccard, normalize_text, shingles
from triage.records import Post

DEFAULT_WINDOW = timedelta(hours=72)
HEAD_CHARS = 48  # texts this long are also keyed by their first HEAD_CHARS characters
SIGNATURE_FLOOR = 0.25  # candidates whose signatures agree less than this are not verified
THRESHOLD = 0.5  # Jaccard of the 5-gram sets for a near-duplicate
CONTAINMENT = 0.8  # share of the shorter text's 5-grams found in the other (truncations)
MIN_CHARS = 16  # normalised characters below which text never joins
MIN_CONTAINED = 40  # the shorter text needs this many 5-grams for containment to count

_URL_RE = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_STATUS_RE = re.compile(r"(?:x|twitter)\.com/(?:[\w]+|i/web)/status(?:es)?/(\d+)", re.IGNORECASE)
_TRACKING = ("utm_", "fbclid", "gclid", "s=", "t=", "ref=", "igsh")
def canonical_url(url: str) -> str | None:
    """A URL as a join key, or None when it says nothing about an incident (bare domains)."""
    try:
        parts = urlsplit(url.strip().rstrip(".,;:!?)\"'"))
    except ValueError:
        return None
    host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("m.")
    path = parts.path.rstrip("/")
    if not host or not path:
        return None
    query = "&".join(q for q in parts.query.split("&") if q and not q.startswith(_TRACKING))
    return f"{host}{path}" + (f"?{query}" if query else "")


def extract_urls(text: str) -> list[str]:
    return _URL_RE.findall(text)


class _Case:
    __slots__ = ("key", "first_seen", "parent")

    def __init__(self, key: str, first_seen: float) -> None:
        self.key = key
        self.first_seen = first_seen
        self.parent: _Case | None = None

    def root(self) -> _Case:
        node = self
        while node.parent is not None:
            if node.parent.parent is not None:
                node.parent = node.parent.parent  # path halving
            node = node.parent
        return node


@dataclass(slots=True)
class _Entry:
    post_key: str
    ts: float  # created_at, POSIX seconds
    case: _Case
    grams: bytes | None  # 5-gram hashes (uint32 bytes), None when not indexed by text
    slot: int  # row in the signature table, -1 when not indexed
    head: bytes | None  # key of the first HEAD_CHARS characters
    digest: bytes | None = None  # hash of the normalised text
    bands: bytes | None = None  # LSH band keys (uint64 bytes), when indexed


class CaseIndex:
    """Incremental grouping of posts into cases (see the module docstring)."""

    def __init__(
        self,
        *,
        window: timedelta = DEFAULT_WINDOW,
        threshold: float = THRESHOLD,
        containment: float = CONTAINMENT,
        min_chars: int = MIN_CHARS,
        on_merge: Callable[[str, str], None] | None = None,
    ) -> None:
        self.window = window.total_seconds()
        self.threshold = threshold
        self.containment = containment
        self.min_chars = min_chars
        self.on_merge = on_merge
        self.merges = 0  # how many cases were merged into older ones
        self._hasher = MinHasher(NUM_PERM)
        self._buckets: dict[int, int | set[int]] = {}  # LSH band key -> slot(s)
        self._heads: dict[bytes, int | set[int]] = {}  # first characters -> slot(s)
        self._sigs = np.zeros((1024, NUM_PERM), dtype=np.uint32)  # slot -> signature
        self._slots: dict[int, _Entry] = {}
        self._free: list[int] = []
        self._next_slot = 0
        self._posts: dict[str, _Entry] = {}  # post key -> entry
        self._exact: dict[bytes, tuple[_Case, float]] = {}  # text digest -> (case, last seen)
        self._links: dict[str, tuple[_Case, float]] = {}  # "url:..", "ref:x:123" -> (case, last)
        self._named: dict[str, tuple[_Case, float]] = {}  # adopted case key -> (case, last seen)
        self._expiry: list[tuple[float, int, str, object]] = []  # (ts, seq, kind, key)
        self._seq = itertools.count()
        self._clock = float("-inf")  # newest created_at seen

    def __len__(self) -> int:
        """Posts currently in the window."""
        return len(self._posts)

    # --- public ------------------------------------------------------------------------
    def assign(
        self,
        post_key: str,
        text: str,
        created_at: datetime,
        quote_of_id: str | None = None,
        reply_to_id: str | None = None,
        urls: Iterable[str] = (),
        *,
        conversation_id: str | None = None,
        case_key: str | None = None,
    ) -> str:
        """The key of the case this post joins (a new one if none fits); idempotent per key.

        `case_key` adopts a post that was already grouped elsewhere (by another worker, or
        before a restart) into that case. If it also matches cases of this index, they are one
        incident: the younger case merges into the older (reported through `on_merge`, so the
        store can move its posts)."""
        known = self._posts.get(post_key)
        if known is not None:
            return known.case.root().key
        ts = created_at.timestamp()
        if ts > self._clock:
            self._clock = ts
            self._expire(ts - self.window)
        platform, sep, own_id = post_key.partition(":")
        prefix = f"{platform}:" if sep else ""
        own_id = own_id if sep else post_key
        parents, keys = _link_keys(prefix, own_id, text, quote_of_id, reply_to_id,
                                   conversation_id, urls)
        found: list[_Case] = []
        for ref in parents:  # the quoted / replied-to post itself
            parent = self._posts.get(ref)
            if parent is not None and abs(parent.ts - ts) <= self.window:
                found.append(parent.case.root())
        for key in keys:
            hit = self._links.get(key)
            if hit is not None and abs(hit[1] - ts) <= self.window:
                found.append(hit[0].root())
        norm = normalize_text(text)
        digest = grams = sig = head = bands = None
        if len(norm) >= self.min_chars:
            digest = hashlib.blake2b(norm.encode(), digest_size=8).digest()
            hit = self._exact.get(digest)
            if hit is not None and abs(hit[1] - ts) <= self.window:
                found.append(hit[0].root())
            else:
                grams = shingles(norm)
                sig = self._hasher.signature(grams)
                if len(norm) >= HEAD_CHARS:
                    head = norm[:HEAD_CHARS].encode()
                bands = band_keys(sig).tolist()
                best = self._near(grams, sig, bands, head, ts)
                if best is not None:
                    found.append(best)
        if case_key is not None:
            found.append(self._case_named(case_key, ts).root())
        case = self._join(found, post_key, ts)
        entry = _Entry(post_key, ts, case, grams.tobytes() if grams is not None else None, -1, head,
                       digest)
        self._posts[post_key] = entry
        self._push(ts, "post", post_key)  # its text digest expires with it
        if digest is not None:
            self._exact[digest] = (case, ts)
        if sig is not None:
            self._index(entry, sig, bands)
        for key in keys:
            self._links[key] = (case, ts)
            self._push(ts, "link", key)
        return case.root().key

    def assign_post(self, post: Post) -> str:
        """`assign` with the fields of a Post (URLs found in its text)."""
        return self.assign(post.key, post.text, post.created_at, post.quote_of_id,
                           post.reply_to_id, extract_urls(post.text),
                           conversation_id=post.conversation_id)

    @classmethod
    def rebuild(cls, posts: Iterable[Post], **kwargs: Any) -> CaseIndex:
        """An index fed with stored posts in time order (e.g. those of the last window)."""
        index = cls(**kwargs)
        for post in sorted(posts, key=lambda p: (p.created_at, p.key)):
            index.assign_post(post)
        return index

    def case_of(self, post_key: str) -> str | None:
        """The case of a post still in the window."""
        entry = self._posts.get(post_key)
        return entry.case.root().key if entry else None

    def resolve(self, case_key: str) -> str:
        """The live case a (possibly merged) case key now belongs to; itself if unknown."""
        entry = self._posts.get(case_key.removeprefix("case:"))
        if entry is None or entry.case.key != case_key:
            return case_key
        return entry.case.root().key

    # --- internals -----------------------------------------------------------------------
    def _case_named(self, case_key: str, ts: float) -> _Case:
        """The case object of a stored case key: the one its first post made, when that post is
        in the window, else one remembered per key while its posts are."""
        first = self._posts.get(case_key.removeprefix("case:"))
        if first is not None and first.case.key == case_key:
            return first.case
        hit = self._named.get(case_key)
        case = hit[0] if hit is not None else _Case(case_key, ts)
        case.first_seen = min(case.first_seen, ts)
        self._named[case_key] = (case, max(ts, hit[1]) if hit is not None else ts)
        self._push(ts, "named", case_key)
        return case

    def _near(self, grams: np.ndarray, sig: np.ndarray, bands: list[int], head: bytes | None,
              ts: float) -> _Case | None:
        buckets = self._buckets
        slots: set[int] = set()
        for key in bands:
            hit = buckets.get(key)
            if hit is None:
                continue
            if type(hit) is int:
                slots.add(hit)
            else:
                slots.update(hit)
        if head is not None:
            hit = self._heads.get(head)
            if hit is not None:
                slots.update((hit,) if type(hit) is int else hit)
        if not slots:
            return None
        order = list(slots)
        agree = (self._sigs[order] == sig).mean(axis=1)  # MinHash estimate of Jaccard
        best, best_sim = None, 0.0
        for slot, estimate in zip(order, agree.tolist(), strict=True):
            other = self._slots[slot]
            if abs(other.ts - ts) > self.window:
                continue
            if estimate < SIGNATURE_FLOOR and (head is None or other.head != head):
                continue
            other_grams = np.frombuffer(other.grams, dtype=np.uint32)  # type: ignore[arg-type]
            jac, contained = jaccard(grams, other_grams)
            ok = jac >= self.threshold or (
                contained >= self.containment and min(grams.size, other_grams.size) >= MIN_CONTAINED)
            if ok and max(jac, contained) > best_sim:
                best, best_sim = other.case.root(), max(jac, contained)
        return best

    def _index(self, entry: _Entry, sig: np.ndarray, bands: list[int]) -> None:
        if self._free:
            slot = self._free.pop()
        else:
            slot = self._next_slot
            self._next_slot += 1
            if slot >= self._sigs.shape[0]:
                self._sigs = np.concatenate([self._sigs, np.zeros_like(self._sigs)])
        self._sigs[slot] = sig
        entry.slot = slot
        entry.bands = np.array(bands, dtype=np.uint64).tobytes()  # 128 bytes, not 16 ints
        _add(self._buckets, bands, slot)
        if entry.head is not None:
            _add(self._heads, (entry.head,), slot)
        self._slots[slot] = entry

    def _unindex(self, entry: _Entry) -> None:
        slot = entry.slot
        bands = np.frombuffer(entry.bands, dtype=np.uint64)  # type: ignore[arg-type]
        _discard(self._buckets, bands.tolist(), slot)
        if entry.head is not None:
            _discard(self._heads, (entry.head,), slot)
        del self._slots[slot]
        self._free.append(slot)

    def _join(self, found: list[_Case], post_key: str, ts: float) -> _Case:
        roots = list({id(c): c for c in found}.values())
        if not roots:
            return _Case(f"case:{post_key}", ts)
        roots.sort(key=lambda c: (c.first_seen, c.key))
        oldest = roots[0]
        for younger in roots[1:]:
            younger.parent = oldest
            self.merges += 1
            if self.on_merge is not None:
                self.on_merge(younger.key, oldest.key)
        return oldest

    def _push(self, ts: float, kind: str, key: object) -> None:
        heapq.heappush(self._expiry, (ts, next(self._seq), kind, key))

    def _expire(self, cutoff: float) -> None:
        heap = self._expiry
        while heap and heap[0][0] < cutoff:
            ts, _, kind, key = heapq.heappop(heap)
            if kind == "post":
                entry = self._posts.pop(key, None)  # type: ignore[arg-type]
                if entry is None:
                    continue
                if entry.slot >= 0:
                    self._unindex(entry)
                hit = self._exact.get(entry.digest) if entry.digest is not None else None
                if hit is not None and hit[1] <= ts:  # no later copy refreshed it
                    del self._exact[entry.digest]  # type: ignore[arg-type]
            else:
                table = self._named if kind == "named" else self._links
                hit = table.get(key)  # type: ignore[arg-type]
                if hit is not None and hit[1] <= ts:  # not refreshed since
                    del table[key]  # type: ignore[arg-type]


def _add(table: dict, keys: Iterable, slot: int) -> None:
    """Add a slot under each key; a lone slot is stored as an int, not a set (memory)."""
    for key in keys:
        hit = table.get(key)
        if hit is None:
            table[key] = slot
        elif type(hit) is int:
            if hit != slot:
                table[key] = {hit, slot}
        else:
            hit.add(slot)


def _discard(table: dict, keys: Iterable, slot: int) -> None:
    for key in keys:
        hit = table.get(key)
        if hit is None:
            continue
        if type(hit) is int:
            if hit == slot:
                del table[key]
        else:
            hit.discard(slot)
            if len(hit) == 1:
                table[key] = next(iter(hit))


def _link_keys(prefix: str, own_id: str, text: str, quote_of_id: str | None,
               reply_to_id: str | None, conversation_id: str | None,
               urls: Iterable[str]) -> tuple[list[str], list[str]]:
    """(posts this one points at, link keys it shares with others)."""
    if not (quote_of_id or reply_to_id or conversation_id or urls or "http" in text
            or "www." in text):
        return [], []
    parents: list[str] = []
    keys: list[str] = []
    refs = [r for r in (quote_of_id, reply_to_id) if r]
    found = extract_urls(text) if ("http" in text or "www." in text) else ()
    for url in (*urls, *found):
        status = _STATUS_RE.search(url)
        if status:
            refs.append(status.group(1))
            continue
        canon = canonical_url(url)
        if canon:
            keys.append(f"url:{canon}")
    if conversation_id:
        refs.append(conversation_id)
    for ref in refs:
        if ref != own_id:
            parents.append(prefix + ref)
            keys.append(f"ref:{prefix}{ref}")
    return list(dict.fromkeys(parents)), list(dict.fromkeys(keys))

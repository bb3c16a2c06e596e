"""The agency registry as data, and resolving a post to the agency it is about (pure).

The registry file is read by `pipelines.registry`; this module only holds the records and the
matching, so triage stays free of I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from triage.errors import PantauError

QUERY_CACHE_SIZE = 4096  # distinct collection queries a Registry remembers (query_agency)


class RegistryError(PantauError):
    """The agency registry has an invalid entry."""


@dataclass(frozen=True, slots=True)
class Agency:
    """One public body Pantau watches."""

    id: str  # stable lowercase id, e.g. "pln"
    name: str  # official name
    substance: str  # default substance id (LABELS.md)
    aliases: tuple[str, ...] = ()  # names people write ("pln mobile", "perusahaan listrik negara")
    keywords: tuple[str, ...] = ()  # phrases that point to this agency ("token listrik")
    handles: dict[str, tuple[str, ...]] = field(default_factory=dict)  # platform -> handles
    region: str = ""  # Kemendagri region code for regional bodies, "" for national


@dataclass(frozen=True, slots=True)
class AgencyMatch:
    agency: Agency
    score: float  # 3 per handle mention, 2 per alias, 1 per keyword (0.5 author, 0.25 query)
    matched: tuple[str, ...]  # the handles/aliases/keywords found, or ("author",) / ("query",)


def _trie_regex(words: Iterable[str]) -> str:
    """One regex matching any of `words`, shaped as a trie ("kai(?: access)?|krl|..."): at each
    position Python's re then follows the text down one branch instead of trying every phrase
    in turn. Greedy branches make it match the longest phrase that fits, like an alternation
    sorted longest first."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def pattern(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(ch) + pattern(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 and len(branches[0]) == 1 else f"(?:{'|'.join(branches)})"
        return f"{body}?" if ends else body

    return pattern(trie)


def _phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    words = {p.lower() for p in phrases if p}
    if not words:
        return None
    return re.compile(r"(?<![\w@])(" + _trie_regex(words) + r")(?!\w)")


class Registry:
    """Agencies by id, with precompiled matchers for resolving posts."""

    def __init__(self, agencies: Sequence[Agency]) -> None:
        seen: set[str] = set()
        for agency in agencies:
            if agency.id in seen:
                raise RegistryError(f"agency id {agency.id!r} appears twice")
            seen.add(agency.id)
        self.agencies: tuple[Agency, ...] = tuple(agencies)
        self.by_id = {a.id: a for a in agencies}
        self._order = {a.id: i for i, a in enumerate(agencies)}
        self._by_handle: dict[str, Agency] = {}
        self._by_phrase: dict[str, tuple[Agency, float]] = {}
        for agency in agencies:
            for handles in agency.handles.values():
                for handle in handles:
                    self._by_handle[handle.lower().lstrip("@")] = agency
            for alias in agency.aliases:
                self._by_phrase.setdefault(alias.lower(), (agency, 2.0))
            for keyword in agency.keywords:
                self._by_phrase.setdefault(keyword.lower(), (agency, 1.0))
        self._phrases = _phrase_pattern(self._by_phrase)
        self._handle_re = re.compile(r"@(\w{1,30})")
        self.query_agency = lru_cache(maxsize=QUERY_CACHE_SIZE)(self._query_agency)

    def __len__(self) -> int:
        return len(self.agencies)

    @property
    def handles(self) -> frozenset[str]:
        """Every agency handle, lowercase without "@": these are never redacted."""
        return frozenset(self._by_handle)

    def agency_of_handle(self, handle: str | None) -> Agency | None:
        if not handle:
            return None
        return self._by_handle.get(handle.lower().lstrip("@"))

    def _query_agency(self, query: str | None) -> Agency | None:
        """The one agency a collection query names (its @handles, aliases or keywords); None when
        it names none or several (Reddit packs many agencies' names into one search). Cached per
        instance as `query_agency`: a collector repeats a few dozen queries."""
        if not query:
            return None
        found = {agency.id for agency, _, _ in self._mentions(query.lower())}
        return self.by_id[found.pop()] if len(found) == 1 else None

    def _mentions(self, lowered: str) -> Iterator[tuple[Agency, float, str]]:
        """Every agency named in lowercase text: (agency, weight, the @handle or phrase)."""
        for handle in self._handle_re.findall(lowered):
            agency = self._by_handle.get(handle)
            if agency is not None:
                yield agency, 3.0, "@" + handle
        if self._phrases is not None:
            for phrase in self._phrases.findall(lowered):
                agency, weight = self._by_phrase[phrase]
                yield agency, weight, phrase

    def resolve(self, text: str, *, author_handle: str | None = None,
                query: str | None = None) -> AgencyMatch | None:
        """The agency a post is about: @handles weigh most, then aliases, then keywords, then
        the post's author; failing all of these, the agency of the query that collected it."""
        scores: dict[str, float] = {}
        matched: dict[str, list[str]] = {}
        for agency, weight, term in self._mentions(text.lower()):
            scores[agency.id] = scores.get(agency.id, 0.0) + weight
            matched.setdefault(agency.id, []).append(term)
        own = self.agency_of_handle(author_handle)
        if own is not None and own.id not in scores:
            scores[own.id] = 0.5  # an agency's own post is about the agency
            matched[own.id] = ["author"]
        if not scores:
            found_by = self.query_agency(query)
            # The weakest evidence: the post names no agency, but the search that found it did
            # (a reply under an agency's thread, a review imported for an agency's app).
            return AgencyMatch(found_by, 0.25, ("query",)) if found_by is not None else None
        best = max(scores, key=lambda a: (scores[a], -self._order[a]))
        return AgencyMatch(self.by_id[best], scores[best], tuple(matched[best]))

"""The post's sector from the agency it names, when the substance model is less sure (pure).

LABELS.md files an agency's services under the agency's sector (KAI Access -> perhubungan, PLN
Mobile -> listrik), and the registry knows each agency's sector. When a post names an agency
(its @handle, an alias or a keyword) and the substance model's top label is another sector with
a probability below how often that kind of mention gives the right sector, the agency's sector
is taken, with the mention as its evidence and the mention's precision as its score.

The precisions were measured on the seed corpus (data/seed, 2026-11-24: of the posts whose text
names an agency with a sector, the share whose gold substance is that sector): @handle 0.88,
alias 0.91, keyword 0.86. On real posts the model is overconfident (see the model card), so it
keeps its label only when it is at least that sure.

A post that names no agency may still have been found by one agency's query (an X search for
its handle, a file of reviews of its app imported with that query). That is the weakest
evidence, and the seed corpus cannot measure it (its posts have no query), so it gets the
weakest measured precision, the keyword's. The issue allows the collector's agency as evidence;
LABELS.md asks annotators to label from the post's text, so this is a prior, not a label rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from triage.agencies import AgencyMatch, Registry
from triage.classify import LabelPrediction, Labels

MENTION_PRECISION = {"handle": 0.88, "alias": 0.91, "keyword": 0.86, "query": 0.86}


def mention_kind(match: AgencyMatch) -> str | None:
    """The strongest evidence of a match: "handle", "alias", "keyword", "query" (None: the
    author only)."""
    if any(m.startswith("@") for m in match.matched):
        return "handle"
    if match.matched == ("author",):
        return None
    if match.matched == ("query",):
        return "query"
    return "alias" if match.score >= 2 else "keyword"


def with_agency_sector(labels: Labels, match: AgencyMatch | None) -> Labels:
    """`labels`, with the substance of the named agency where the model is less sure of its own."""
    if match is None:
        return labels
    sector = match.agency.substance
    kind = mention_kind(match)
    current = labels.substance
    if not sector or sector == "none" or kind is None or current.label == sector:
        return labels
    precision = MENTION_PRECISION[kind]
    if current.score >= precision:
        return labels
    runners = ((current.label, current.score),
               *((lab, p) for lab, p in current.alternatives if lab != sector))
    evidence = tuple(m for m in match.matched if m not in ("author", "query"))  # words of the post
    substance = LabelPrediction(sector, precision, runners[:max(1, len(current.alternatives))], evidence)
    return replace(labels, substance=substance)


def with_agency_sectors(labels: Sequence[Labels], texts: Sequence[str], registry: Registry,
                        queries: Sequence[str | None] | None = None) -> list[Labels]:
    """`with_agency_sector` for a batch of posts, each with the query that collected it if known
    (no author known: `pantau classify`, `pantau evaluate`); the worker, which knows the author,
    calls the single form."""
    queries = queries if queries is not None else [None] * len(texts)
    return [with_agency_sector(lab, registry.resolve(text, query=query))
            for lab, text, query in zip(labels, texts, queries, strict=True)]

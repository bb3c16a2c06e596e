"""The substance of a post that names an agency: the agency's sector where the model is less sure."""

from __future__ import annotations

import pytest

from pipelines.registry import load_registry
from pipelines.settings import RESOURCES
from triage.classify import LabelPrediction, Labels
from triage.sector import MENTION_PRECISION, mention_kind, with_agency_sector

REGISTRY = load_registry(RESOURCES / "agencies.toml")
KIND = LabelPrediction("aduan", 0.9, (), ())
MALADMINISTRATION = LabelPrediction("tidak_kompeten", 0.6, (), ())


def labels(substance: str, score: float) -> Labels:
    runner = "kepolisian" if substance != "kepolisian" else "pajak"
    return Labels(KIND, LabelPrediction(substance, score, ((runner, 0.1), ("listrik", 0.05)), ("kata",)),
                  MALADMINISTRATION)


@pytest.mark.parametrize(("text", "kind"), [
    ("@pln_123 kok mati terus dari sore", "handle"),
    ("aplikasi pln mobile error terus", "alias"),
    ("mati lampu lagi di sini", "keyword"),
])
def test_an_unsure_model_takes_the_named_agencys_sector(text: str, kind: str) -> None:
    match = REGISTRY.resolve(text)
    assert mention_kind(match) == kind
    out = with_agency_sector(labels("komunikasi_informatika", 0.55), match)
    assert out.substance.label == "listrik" and out.substance.score == MENTION_PRECISION[kind]
    assert out.substance.alternatives[0] == ("komunikasi_informatika", 0.55)  # the model's, kept
    assert all(lab != "listrik" for lab, _ in out.substance.alternatives)
    assert out.substance.evidence and out.kind is KIND and out.maladministration is MALADMINISTRATION


def test_a_sure_model_keeps_its_label() -> None:
    before = labels("jaminan_sosial", 0.97)
    assert with_agency_sector(before, REGISTRY.resolve("@pln_123 kok mati terus")) is before


@pytest.mark.parametrize("text", ["hari ini cerah sekali", "listrik aman"])
def test_posts_naming_no_agency_are_left_alone(text: str) -> None:
    before = labels("pajak", 0.3)
    match = REGISTRY.resolve(text)
    assert with_agency_sector(before, match) is before


def test_an_agencys_own_post_is_not_a_mention() -> None:
    match = REGISTRY.resolve("Terima kasih atas laporannya", author_handle="pln_123")
    assert match is not None and mention_kind(match) is None
    before = labels("pajak", 0.3)
    assert with_agency_sector(before, match) is before


@pytest.mark.parametrize(("query", "agency"), [
    ("(@pln_123 OR \"pln mobile\") lang:id -is:retweet -from:pln_123", "pln"),
    ("PLN Mobile", "pln"),
    ("coretax", "djp"),
])
def test_a_query_naming_one_agency_gives_its_agency(query: str, agency: str) -> None:
    assert REGISTRY.query_agency(query).id == agency


@pytest.mark.parametrize("query", [None, "", "r/indonesia new", "\"pln mobile\" OR \"kai access\""])
def test_a_query_naming_no_or_several_agencies_gives_none(query: str | None) -> None:
    assert REGISTRY.query_agency(query) is None
    assert REGISTRY.resolve("update malah error terus", query=query) is None


def test_a_post_naming_no_agency_takes_its_querys_agency_where_the_model_is_less_sure() -> None:
    match = REGISTRY.resolve("update malah error terus, ngelag parah", query="PLN Mobile")
    assert match.agency.id == "pln" and mention_kind(match) == "query"
    out = with_agency_sector(labels("perhubungan", 0.5), match)
    assert out.substance.label == "listrik" and out.substance.score == MENTION_PRECISION["query"]
    assert out.substance.alternatives[0] == ("perhubungan", 0.5)
    assert out.substance.evidence == ()  # no word of the post named the agency
    sure = labels("perhubungan", 0.95)
    assert with_agency_sector(sure, match) is sure


def test_the_posts_own_words_and_author_outrank_the_query() -> None:
    assert REGISTRY.resolve("kereta telat lagi @KAI121", query="PLN Mobile").agency.id == "kai"
    own = REGISTRY.resolve("Terima kasih atas laporannya", author_handle="pln_123", query="coretax")
    assert own.agency.id == "pln" and mention_kind(own) is None

"""Contract v1 (`pantau.queue-item/1`): every item the code produces validates against the JSON
Schema in pipelines/schemas; what qualifies follows the config's policy; an escalation enqueues
a new revision under the same idempotency key."""

from __future__ import annotations

import copy
import hashlib
import json
import pickle
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pipelines import queue
from pipelines.run import import_file
from pipelines.store import schema as s
from pipelines.triage_stage import TriageStage
from tests.conftest import FrozenClock
from tests.pipelines import test_queue_support as support
from tests.pipelines.test_queue_support import (
    SCHEMA_PATH,
    assert_valid,
    contract_item,
    empty_tables,
    labels,
    make_ctx,
    validator,
)
from triage.classify import LabelPrediction, Labels
from triage.priority import Priority
from triage.qualify import Policies, QueuePolicy, parse_policies, qualifies
from triage.virality import Virality

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "pipelines" / "resources" / "sample_posts.jsonl"
NOW = datetime.fromisoformat("2026-11-22T08:00:00+00:00")

# DESIGN.md's example, with its elisions ("7f1c...", "5be1...") filled in.
DESIGN_EXAMPLE = {
    "schema": "pantau.queue-item/1",
    "item_id": "7f1c2a9e-5b3d-4c8f-9a1e-2d4b6c8e0f12",
    "idempotency_key": "x:1879859779184820459",
    "revision": 1,
    "enqueued_at": "2026-11-22T08:15:02Z",
    "post": {
        "platform": "x", "post_id": "1879859779184820459",
        "url": "https://x.com/i/web/status/1879859779184820459",
        "created_at": "2026-11-22T07:58:40Z", "lang": "id",
        "text": "NIK saya [NIK] ditolak di loket, disuruh bayar 200rb biar cepat @DukcapilKemendagri",
        "author": {"pseudonym": "a:9c41e0d2", "followers": 1840},
    },
    "triage": {
        "kind": {"label": "aduan", "score": 0.94},
        "substance": {"label": "administrasi_kependudukan", "score": 0.91,
                      "alternatives": [["kepolisian", 0.03]]},
        "maladministration": {"label": "permintaan_imbalan", "score": 0.82,
                              "evidence": ["bayar 200rb biar cepat"]},
        "agency": {"id": "dukcapil", "name": "Ditjen Dukcapil", "region": None},
        "virality": {"score": 71, "engagement_per_hour": 38.5, "baseline_ratio": 6.2},
        "priority": {"score": 0.88, "tier": "P1", "reasons": ["permintaan_imbalan", "virality 71"]},
        "case_id": "c:2211",
    },
    "provenance": {
        "collector": "x", "collector_version": "0.3.0",
        "query": "@DukcapilKemendagri lang:id -is:retweet",
        "fetched_at": "2026-11-22T08:14:55Z", "raw_sha256": "5be1" + "0" * 60,
        "models": {"kind": "kind/20261120-a1b2c3", "substance": "substance/20261120-a1b2c3"},
        "pipeline_version": "0.3.0",
    },
    "redaction": {"policy": "v1", "entities": {"NIK": 1}},
}

# Fixtures shared by the queue test modules (one database per module, emptied per test).
qdb_url = support.qdb_url
queue_db_url = support.queue_db_url


# --- the schema itself -------------------------------------------------------------------------

def test_the_schema_is_valid_and_accepts_the_design_example() -> None:
    assert validator() is not None  # check_schema ran
    assert_valid(DESIGN_EXAMPLE)


def test_the_schema_names_every_field_of_the_design_example() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    assert set(schema["required"]) == set(DESIGN_EXAMPLE)
    for part in ("post", "triage", "provenance", "redaction"):
        assert set(schema["properties"][part]["required"]) == set(DESIGN_EXAMPLE[part]), part


@pytest.mark.parametrize(("path", "value"), [
    (("schema",), "pantau.queue-item/2"),
    (("item_id",), "7f1c...-uuid"),
    (("idempotency_key",), "1879859779184820459"),
    (("revision",), 0),
    (("enqueued_at",), "2026-11-22 08:15:02"),
    (("post", "platform"), "facebook"),
    (("post", "author", "pseudonym"), "@budi_santoso"),  # a handle is not a pseudonym
    (("post", "author", "handle"), "budi"),  # no extra fields: nothing unredacted slips in
    (("triage", "kind", "label"), "complaint"),
    (("triage", "kind", "score"), 1.2),
    (("triage", "priority", "tier"), "P0"),
    (("triage", "case_id"), "2211"),
    (("provenance", "raw_sha256"), "5be1..."),
    (("redaction", "entities", "NIK"), 0),
])
def test_the_schema_rejects_what_breaks_the_contract(path: tuple[str, ...], value: Any) -> None:
    item = copy.deepcopy(DESIGN_EXAMPLE)
    target = item
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert list(validator().iter_errors(item)), f"{'/'.join(path)} = {value!r} was accepted"


def test_missing_fields_are_rejected() -> None:
    for key in DESIGN_EXAMPLE:
        item = {k: v for k, v in DESIGN_EXAMPLE.items() if k != key}
        assert list(validator().iter_errors(item)), key


# --- what the builder produces -----------------------------------------------------------------

def test_build_queue_item_produces_valid_items() -> None:
    assert_valid(contract_item(now=NOW))
    assert_valid(contract_item(now=NOW, agency=False, case_id=None, tier="P4", score=0.0))
    assert_valid(contract_item(now=NOW, revision=7, tier="P3", score=1.0))
    item = contract_item(now=NOW)
    item["post"].update(url=None, lang=None)
    item["post"]["author"]["followers"] = None
    item["provenance"]["query"] = None
    assert_valid(item)


def test_build_queue_item_for_every_platform_and_label() -> None:
    from triage.agencies import Agency
    from triage.contract import PostView, ProvenanceView, build_queue_item
    from triage.taxonomy import LABEL_SETS

    for platform, post_id in (("x", "1879859779184820459"), ("reddit", "t3_1abcde"), ("file", "row-17")):
        for mal in LABEL_SETS["maladministration"]:
            item = build_queue_item(
                item_id="2b0e5a1c-8c9f-4d7e-9b1a-0c3d5e7f9a2b", idempotency_key=f"{platform}:{post_id}",
                revision=1, enqueued_at=NOW,
                post=PostView(platform, post_id, None, NOW - timedelta(days=3), "id",
                              "tagihan [NOMOR_HP] dobel, token listrik hilang", "a:anon", 0,
                              {"PHONE": 2, "EMAIL": 1}),
                labels=labels(mal=mal, kind="aduan", substance="listrik"),
                agency=Agency(id="pln", name="PT PLN (Persero)", substance="listrik", region="31"),
                virality=Virality(0.0, 0, 0.0, 0.0, 0.0, None),
                priority=Priority(0.25, "P3", ("aduan biasa",)), case_key="c:1",
                provenance=ProvenanceView("file", "0.1.0", None, NOW, "f" * 64), models={},
            )
            assert_valid(item)


# --- the real pipeline: sample posts -> triage -> stored items ---------------------------------

def _source_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted([*REPO.glob("triage/*.py"), *REPO.glob("data/seed/*.jsonl")]):
        digest.update(path.name.encode() + path.read_bytes())
    import sklearn

    digest.update(sklearn.__version__.encode())
    return digest.hexdigest()[:16]


def _tiny_classifier():  # noqa: ANN202
    """Small models trained on part of the seed corpus, cached (pickled) in the temp folder
    under a hash of the triage code and the seed data, for when models/ has no production ones."""
    from pipelines.train import seed_corpus
    from triage.classify import MODEL_NAMES, Classifier
    from triage.estimators import build_pipeline

    cache = Path(tempfile.gettempdir()) / f"pantau-tiny-classifier-{_source_hash()}.pickle"
    if cache.exists():
        return pickle.loads(cache.read_bytes())  # noqa: S301 - we wrote it
    examples = seed_corpus()
    pipelines = {}
    for name in MODEL_NAMES:
        groups = defaultdict(list)
        for e in examples:
            if name != "maladministration" or e.kind == "aduan":
                groups[getattr(e, name)].append(e)
        rows = [e for _, group in sorted(groups.items()) if len(group) >= 10 for e in group[:12]]
        pipelines[name] = build_pipeline(seed=13).fit([e.text for e in rows],
                                                      [getattr(e, name) for e in rows])
    classifier = Classifier.from_pipelines(pipelines, {n: f"{n}/tiny-test" for n in MODEL_NAMES})
    for stale in cache.parent.glob("pantau-tiny-classifier-*.pickle"):
        stale.unlink(missing_ok=True)  # made by older code
    cache.write_bytes(pickle.dumps(classifier))
    return classifier


def test_every_item_from_the_real_pipeline_validates(qdb_url: str, tmp_path: Path,
                                                      request: pytest.FixtureRequest) -> None:
    config = '[queue.policy]\nmax_tier = "P4"\nmin_kind_score = 0.3\n'
    ctx = make_ctx(qdb_url, tmp_path, FrozenClock(NOW), config)
    report = import_file(ctx, SAMPLE, "jsonl")
    assert report.posts_new > 100
    if (REPO / "models" / "production.json").exists():
        from pipelines.run import triage_pending

        triage = triage_pending(ctx)  # the production models, as `pantau run` uses them
    else:
        policies = parse_policies(ctx.settings.section("queue")["policy"])
        triage = TriageStage(ctx.engine, _tiny_classifier(), ctx.registry, policies,
                             clock=ctx.clock).drain()
    assert triage.triaged == report.posts_new
    with ctx.engine.connect() as conn:
        payloads = conn.execute(select(s.queue_items.c.payload)).scalars().all()
    assert len(payloads) >= 10, "too few items qualified to exercise the contract"
    for payload in payloads:
        assert_valid(payload)
    # and what consumers receive is exactly what was stored
    delivered = queue.claim(ctx.engine, "contract", 500, 60, now=NOW)
    assert sorted(json.dumps(d.item, sort_keys=True) for d in delivered) == \
        sorted(json.dumps(p, sort_keys=True) for p in payloads)
    ctx.close()


# --- qualification policy and escalation (a fixed classifier makes scores predictable) ----------

@dataclass
class FixedClassifier:
    """Labels by keyword: the classifier is an argument of the triage stage, not patched."""

    versions: dict[str, str]

    def predict(self, texts: list[str]) -> list[Labels]:
        out = []
        for text in texts:
            serious = "pungli" in text
            mal = ("permintaan_imbalan", 0.9) if serious else ("tidak_kompeten", 0.6)
            substance = "listrik" if "listrik" in text else "administrasi_kependudukan"
            out.append(Labels(
                kind=LabelPrediction("aduan", 0.9, (("lainnya", 0.1),), ()),
                substance=LabelPrediction(substance, 0.8, (("lainnya", 0.1),), ()),
                maladministration=LabelPrediction(mal[0], mal[1], (("tidak_ada", 0.1),), ()),
            ))
        return out


POSTS = {
    "pln": "listrik padam tiga hari di rumah kami, petugas tidak datang juga @pln_123",
    "dukcapil": "sudah dua bulan ktp-el belum jadi, petugas disdukcapil bilang blangko habis terus",
    "other": "antrean loket kantor kecamatan lama sekali, petugasnya tidak tahu prosedur",
}


def _post(post_id: str, text: str, created_at: datetime, author: str = "warga01",
          metrics: list[dict] | None = None) -> dict:
    return {"platform": "x", "post_id": post_id, "url": f"https://x.com/{author}/status/{post_id}",
            "author_id": str(abs(hash(author)) % 10 ** 9), "author_handle": author,
            "author_followers": 120, "text": text, "lang": "id",
            "created_at": created_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "query": "test",
            "metrics": metrics or []}


def _import(ctx, tmp_path: Path, rows: list[dict], name: str) -> None:  # noqa: ANN001
    path = tmp_path / f"{name}.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    import_file(ctx, path, "jsonl")


def _run(ctx) -> None:  # noqa: ANN001
    policies = parse_policies(ctx.settings.section("queue").get("policy", {}))
    TriageStage(ctx.engine, FixedClassifier({"kind": "kind/fixed"}), ctx.registry, policies,
                clock=ctx.clock).drain()


def _queued(ctx) -> dict[str, dict]:  # noqa: ANN001
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(s.queue_items.c.payload, s.queue_items.c.status)
                            .order_by(s.queue_items.c.id)).all()
    return {f"{r.payload['post']['post_id']}@{r.payload['revision']}": {**r.payload, "_status": r.status}
            for r in rows}


POLICIES = [
    ("", set()),  # default policy: up to P3; these low-priority complaints are P4
    ('[queue.policy.agency.pln]\nmax_tier = "P4"\n', {"1"}),
    ('[queue.policy.substance.administrasi_kependudukan]\nmax_tier = "P4"\n', {"2", "3"}),
    ('[queue.policy]\nmax_tier = "P4"\n[queue.policy.agency.dukcapil]\nmax_tier = "P3"\n', {"1", "3"}),
    ('[queue.policy]\nmax_tier = "P4"\nmin_kind_score = 0.95\n'
     '[queue.policy.agency.pln]\nmin_kind_score = 0.5\n', {"1"}),
    ('[queue.policy]\nmax_tier = "P4"\nmin_virality = 10\n', set()),
]


def test_policy_overrides_change_what_qualifies(qdb_url: str, tmp_path: Path) -> None:
    created = NOW - timedelta(hours=1)
    rows = [_post("1", POSTS["pln"], created), _post("2", POSTS["dukcapil"], created),
            _post("3", POSTS["other"], created)]
    for n, (config, expected) in enumerate(POLICIES):
        ctx = make_ctx(qdb_url, tmp_path, FrozenClock(NOW), config)
        empty_tables(ctx.engine)
        _import(ctx, tmp_path, rows, f"policy{n}")
        _run(ctx)
        assert {k.split("@")[0] for k in _queued(ctx)} == expected, config
        for item in _queued(ctx).values():
            item.pop("_status")
            assert_valid(item)
        ctx.close()


def test_qualifies_applies_each_threshold() -> None:
    lab = labels(kind_score=0.7)
    virality = Virality(40.0, 10, 5.0, 0.0, 2.0, None)
    p2 = Priority(0.45, "P2", ())
    assert qualifies(lab, p2, virality, QueuePolicy())
    assert not qualifies(lab, p2, virality, QueuePolicy(min_kind_score=0.8))
    assert not qualifies(lab, p2, virality, QueuePolicy(max_tier="P1"))
    assert not qualifies(lab, p2, virality, QueuePolicy(min_virality=50))
    assert not qualifies(labels(kind="pertanyaan"), p2, virality, QueuePolicy(min_kind_score=0))
    policies = parse_policies({"max_tier": "P1", "agency": {"pln": {"max_tier": "P3"}},
                               "substance": {"listrik": {"min_kind_score": 0.9}}})
    assert isinstance(policies, Policies)
    assert policies.for_post("pln", "listrik").max_tier == "P3"  # agency wins over substance
    assert policies.for_post(None, "listrik") == QueuePolicy(min_kind_score=0.9, max_tier="P1")
    assert policies.for_post("kai", "transportasi") == QueuePolicy(max_tier="P1")


def test_an_escalation_enqueues_a_new_revision_with_the_same_key(qdb_url: str, tmp_path: Path) -> None:
    clock = FrozenClock(NOW)
    ctx = make_ctx(qdb_url, tmp_path, clock, '[queue.policy]\nmax_tier = "P4"\n')
    text = POSTS["dukcapil"]
    _import(ctx, tmp_path, [_post("100", text, NOW - timedelta(hours=1), "warga01")], "first")
    _run(ctx)
    (first,) = _queued(ctx).values()
    assert (first["idempotency_key"], first["revision"], first["triage"]["priority"]["tier"]) == \
        ("x:100", 1, "P4")

    # The same complaint again, four days old: the case's priority rises (the 3-day clock).
    clock.advance(minutes=30)
    _import(ctx, tmp_path, [_post("101", text, NOW - timedelta(days=4), "warga02")], "second")
    _run(ctx)
    queued = _queued(ctx)
    second = queued["101@2"]
    assert second["idempotency_key"] == first["idempotency_key"] == "x:100"
    assert second["revision"] == first["revision"] + 1
    assert second["triage"]["case_id"] == first["triage"]["case_id"]
    assert second["triage"]["priority"]["tier"] == "P3"
    assert second["item_id"] != first["item_id"]
    assert queued["100@1"]["_status"] == "superseded" and second["_status"] == "ready"
    second.pop("_status")
    assert_valid(second)

    # A third post of the same case at the same tier is not an escalation: no new revision.
    clock.advance(minutes=30)
    _import(ctx, tmp_path, [_post("102", text, NOW - timedelta(days=4), "warga03")], "third")
    _run(ctx)
    assert set(_queued(ctx)) == {"100@1", "101@2"}
    # consumers see one item for the case: the newest revision
    (delivered,) = queue.claim(ctx.engine, "lapor", 10, 60, now=clock())
    assert (delivered.item["idempotency_key"], delivered.item["revision"]) == ("x:100", 2)
    ctx.close()


def test_the_consumer_documentation_names_every_field() -> None:
    import re

    doc = (REPO / "docs" / "queue-contract.md").read_text(encoding="utf-8")
    schema = json.loads(SCHEMA_PATH.read_text())
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            names.update(node.get("properties", {}))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    missing = sorted(n for n in names if not re.search(rf"`[^`\n]*\b{re.escape(n)}\b[^`\n]*`", doc))
    assert not missing, f"docs/queue-contract.md does not document: {missing}"


def test_a_dismissed_case_is_retracted_not_escalated_again_and_reopened_by_a_person(
        qdb_url: str, tmp_path: Path) -> None:
    from pipelines.users import create_user
    from review import actions
    from tests.review.factory import FAST_HASHER

    clock = FrozenClock(NOW)
    ctx = make_ctx(qdb_url, tmp_path, clock, '[queue.policy]\nmax_tier = "P4"\n')
    text = POSTS["dukcapil"]
    _import(ctx, tmp_path, [_post("100", text, NOW - timedelta(hours=1), "warga01")], "first")
    _run(ctx)
    user = create_user(ctx.engine, "rina", "peninjau", "kata-sandi-uji-123", now=clock(), hasher=FAST_HASHER)
    with ctx.engine.connect() as conn:
        pk = conn.execute(select(s.posts.c.id).where(s.posts.c.post_id == "100")).scalar()

    # Staff dismiss the post the item shows: consumers get a revision that says so.
    assert actions.dismiss(ctx.engine, ctx.registry, pk, user.id, user.name, "bukan_aduan",
                           "akun [USERNAME] iseng", now=clock())
    queued = _queued(ctx)
    dismissal = queued["100@2"]
    assert queued["100@1"]["_status"] == "superseded" and dismissal.pop("_status") == "ready"
    assert dismissal["idempotency_key"] == "x:100"
    assert dismissal["review"] == {"decision": "dismissed", "reason": "bukan_aduan",
                                   "at": dismissal["enqueued_at"]}
    assert "iseng" not in json.dumps(dismissal)  # the reviewer's remark stays inside Pantau
    assert_valid(dismissal)
    # a second dismissal of the same post adds nothing
    assert not actions.dismiss(ctx.engine, ctx.registry, pk, user.id, user.name, "spam", "", now=clock())
    assert set(_queued(ctx)) == {"100@1", "100@2"}

    # The case escalates by itself (4-day-old copy): a dismissed case is not re-sent.
    clock.advance(minutes=30)
    _import(ctx, tmp_path, [_post("101", text, NOW - timedelta(days=4), "warga02")], "second")
    _run(ctx)
    assert set(_queued(ctx)) == {"100@1", "100@2"}

    # A person forwards it again: the next revision reopens it, without `review`.
    assert actions.escalate(ctx.engine, ctx.registry, pk, user.id, user.name, now=clock()).enqueued
    reopened = _queued(ctx)["100@3"]
    assert "review" not in reopened and reopened["idempotency_key"] == "x:100"
    (delivered,) = queue.claim(ctx.engine, "lapor", 10, 60, now=clock())
    assert delivered.item["revision"] == 3
    ctx.close()

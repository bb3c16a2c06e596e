"""Fuzz the HTTP API with schemathesis against the app's own OpenAPI description.

Issue 9 ("Hostile input") and issue 6 (error contract): whatever arrives at /api/v1, the answer
is never a 5xx and conforms to the OpenAPI description (status, content type, headers, body;
claimed items against the queue-item contract); every 4xx is a JSON body
{"error": {"code", "message"}}; nothing works without a valid token; another consumer's, an
expired or a settled delivery is never acked or nacked; and afterwards the stored data is intact.
/healthz and /metrics are checked against their description too.

The app is the real one (`pipelines.web.create_app`) on a fresh SQLite database seeded from the
sample posts through import and triage, so claims hand out real contract items. Schemathesis
generates valid and invalid requests (positive and negative modes; its examples, coverage and
fuzzing phases) with a fixed seed, derandomized and without an example database, so every run
makes the same requests. The tests share one app and database (module fixture) and run in file
order; the last one checks what the others left behind.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from sqlalchemy import create_engine, func, select

import pipelines
from pipelines import consumers, queue, run
from pipelines.context import AppContext
from pipelines.store import schema as s
from pipelines.web import create_app
from tests.conftest import FrozenClock, make_context
from tests.pipelines.test_queue_support import assert_valid

SEED = 20261122
MAX_EXAMPLES = 50  # per operation, for the fuzzing phase (the coverage phase adds its own cases)
SAMPLE = Path(pipelines.__file__).resolve().parent / "resources" / "sample_posts.jsonl"
# What the tests without a valid token send instead (None: no Authorization header at all).
WRONG_AUTH = [None, "Bearer", "Bearer pnt_not-a-real-token", "Basic bGFwb3I6eA==", "bearer  ",
              "Bearer " + "x" * 5000, "Token pnt_x", "Bearer pnt_\x7f"]
# Which delivery id an ack/nack case gets (see `_use_real_delivery`).
KINDS = ("generated", "fresh", "settled", "expired", "foreign")


class _AppUnderTest:
    """An ASGI app forwarding to `target`.

    Schemathesis reads the OpenAPI document when pytest collects this module, before any fixture
    runs; the seeded app only exists once `fuzz_env` has built it. Until then the target is the
    same app on an in-memory database it never opens (building the app and its OpenAPI document
    touches no database)."""

    def __init__(self) -> None:
        settings = make_context("sqlite://", Path(tempfile.gettempdir()), FrozenClock()).settings
        self.target: Any = create_app(AppContext(settings, _engine=create_engine("sqlite://")))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.target(scope, receive, send)


APP = _AppUnderTest()
CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
})
OPENAPI = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)
API = OPENAPI.include(path_regex=r"^/api/v1/")
OPS = OPENAPI.include(path_regex=r"^/(healthz|metrics)$")


@dataclass
class FuzzEnv:
    """The app under test, its database, and what the fuzzing did to it."""

    app: Any
    ctx: AppContext
    clock: FrozenClock
    token: str
    baseline: dict[str, Any]
    responses: Counter = field(default_factory=Counter)  # (test, operation, status) -> n
    kinds: Counter = field(default_factory=Counter)  # real delivery ids used, by kind
    acked: int = 0  # items acked for the first time, through the API or by `settled` cases
    settled: list[str] = field(default_factory=list)  # acked deliveries, for `settled` cases

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def snapshot(engine: Any) -> dict[str, Any]:
    """What must survive the fuzzing unchanged: rows per table, every queue item's payload."""
    q = s.queue_items
    with engine.connect() as conn:
        counts = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                  for t in (s.raw_pages, s.posts, s.triage_results, s.queue_items, s.consumers)}
        payloads = {r.item_id: r.payload for r in conn.execute(select(q.c.item_id, q.c.payload))}
    return {"counts": counts, "payloads": payloads}


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzEnv]:
    tmp = tmp_path_factory.mktemp("fuzz")
    clock = FrozenClock()
    ctx = make_context(f"sqlite:///{tmp / 'pantau.db'}", tmp, clock)
    run.import_file(ctx, SAMPLE, "jsonl")
    report = run.triage_pending(ctx)
    assert report.enqueued > 20, report
    token = consumers.add_consumer(ctx.engine, "fuzzer", now=clock()).token
    consumers.add_consumer(ctx.engine, "other", now=clock())
    env = FuzzEnv(create_app(ctx), ctx, clock, token, snapshot(ctx.engine))
    described = APP.target.openapi()
    APP.target = env.app  # from here on, schemathesis's requests reach the seeded app
    assert env.app.openapi() == described  # the description fuzzed is the seeded app's own
    yield env
    ctx.close()


def _pick(case: Any, n: int) -> int:
    """A choice among n that depends only on the generated case (a rerun makes the same one)."""
    body = case.body if isinstance(case.body, (dict, list, str, bytes, int, float, type(None))) else "-"
    material = repr([case.method, sorted(case.path_parameters.items()), body])  # no object addresses
    return int(hashlib.sha256(material.encode()).hexdigest(), 16) % n


def _claim_one(env: FuzzEnv, consumer: str, lease: int = 300) -> str | None:
    got = queue.claim(env.ctx.engine, consumer, 1, lease, now=env.clock())
    return got[0].delivery_id if got else None


def _next_round(env: FuzzEnv) -> None:
    """Every lease runs out between cases and dead letters are requeued (as an operator would),
    so claims keep handing out items."""
    env.clock.advance(seconds=queue.MAX_LEASE_SECONDS + 1)
    queue.requeue_dead(env.ctx.engine, now=env.clock())


def _use_real_delivery(env: FuzzEnv, case: Any) -> str:
    """Generated delivery ids are all unknown ones; give some ack/nack cases a real one instead:
    a fresh delivery of ours, one already acked, one whose lease expired, or another consumer's."""
    if "delivery_id" not in case.path_parameters or not isinstance(case.path_parameters["delivery_id"], str):
        return "generated"
    kind = KINDS[_pick(case, len(KINDS))]
    delivery: str | None = None
    if kind == "fresh":
        delivery = _claim_one(env, "fuzzer")
    elif kind == "settled":  # a few acked deliveries, reused: the items are not used up
        if len(env.settled) < 5 and (delivery := _claim_one(env, "fuzzer")):
            assert queue.ack(env.ctx.engine, delivery, now=env.clock(), consumer="fuzzer")
            env.acked += 1
            env.settled.append(delivery)
        delivery = env.settled[_pick(case, len(env.settled))] if env.settled else None
    elif kind == "expired":
        delivery = _claim_one(env, "fuzzer", lease=1)
        env.clock.advance(seconds=2)
    elif kind == "foreign":
        delivery = _claim_one(env, "other")
    if delivery is None:
        return "generated"
    env.kinds[kind] += 1
    case.path_parameters = {**case.path_parameters, "delivery_id": delivery}  # revalidated by schemathesis
    return kind


def header(response: Any, name: str) -> str:
    """A response header (schemathesis keeps each header as a list of values)."""
    values = response.headers.get(name.lower()) or response.headers.get(name) or [""]
    return values[0] if isinstance(values, list) else values


def assert_error_contract(response: Any) -> None:
    """Never a 5xx; every 4xx a JSON {"error": {"code", "message"}} naming the problem."""
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400:
        assert header(response, "content-type").startswith("application/json"), response.headers
        body = response.json()
        assert set(body) == {"error"}, body
        error = body["error"]
        assert isinstance(error.get("code"), str) and error["code"], body
        assert isinstance(error.get("message"), str) and error["message"], body


@API.parametrize()
def test_fuzz_with_a_valid_token(case: Any, fuzz_env: FuzzEnv) -> None:
    _next_round(fuzz_env)
    kind = _use_real_delivery(fuzz_env, case)
    response = case.call_and_validate(headers=fuzz_env.auth)  # schemathesis's checks, all of them
    fuzz_env.responses[("token", case.operation.label, response.status_code)] += 1
    assert_error_contract(response)
    status, action = response.status_code, case.operation.path.rsplit("/", 1)[-1]
    sent_token = response.request.headers.get("authorization") == fuzz_env.auth["Authorization"]
    if not sent_token:  # schemathesis's own "missing credentials" cases
        assert status == 401, response.text
        return
    if case.method.upper() != "POST":
        assert status == 405 and header(response, "Allow") == "POST", (case.method, status, response.text)
        return
    assert status not in (401, 405), response.text  # a valid token always gets in
    if status == 200 and action == "ack":
        assert kind in ("fresh", "settled"), (kind, response.text)
        assert response.json()["already_acked"] is (kind == "settled")
        fuzz_env.acked += kind == "fresh"
    if status == 200 and action == "nack":
        assert kind == "fresh", (kind, response.text)
    if kind in ("expired", "foreign", "generated") and action != "claim":
        expected = 409 if kind == "expired" else 404
        assert status in (expected, 400, 422), (kind, status, response.text)  # 400/422: a bad body


@API.parametrize()
def test_fuzz_without_a_valid_token(case: Any, fuzz_env: FuzzEnv) -> None:
    _next_round(fuzz_env)
    _use_real_delivery(fuzz_env, case)
    wrong = WRONG_AUTH[_pick(case, len(WRONG_AUTH))]
    case.headers = {k: v for k, v in case.headers.items() if k.lower() != "authorization"}
    response = case.call(headers={"Authorization": wrong} if wrong is not None else None)
    fuzz_env.responses[("no token", case.operation.label, response.status_code)] += 1
    assert response.status_code == 401, (wrong, response.status_code, response.text)
    assert header(response, "WWW-Authenticate").startswith('Bearer realm="pantau"')
    assert_error_contract(response)
    assert response.json()["error"]["code"] in ("unauthorized", "invalid_token")
    case.validate_response(response)  # the 401 is the documented one


@OPS.parametrize()
def test_fuzz_healthz_and_metrics(case: Any, fuzz_env: FuzzEnv) -> None:
    response = case.call_and_validate()
    fuzz_env.responses[("ops", case.operation.label, response.status_code)] += 1
    assert response.status_code < 500, response.text


def test_ops_are_described_as_served() -> None:
    # /metrics was described as JSON, /healthz without its 503 (found by the fuzz test above)
    paths = APP.target.openapi()["paths"]
    assert set(paths["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}
    assert "application/json" in paths["/healthz"]["get"]["responses"]["503"]["content"]


def test_stored_data_is_intact_after_fuzzing(fuzz_env: FuzzEnv) -> None:
    fuzzed = sum(n for (test, *_), n in fuzz_env.responses.items() if test != "ops")
    if not fuzzed:
        pytest.skip("the fuzz tests did not run in this process (deselected, or another xdist worker)")
    after = snapshot(fuzz_env.ctx.engine)
    assert after["counts"] == fuzz_env.baseline["counts"]  # nothing added, nothing lost
    assert after["payloads"] == fuzz_env.baseline["payloads"]  # no item altered
    for payload in after["payloads"].values():
        assert_valid(payload if isinstance(payload, dict) else json.loads(payload))
    stats = queue.stats(fuzz_env.ctx.engine, now=fuzz_env.clock())
    assert sum(stats[k] for k in queue.STATUSES) == after["counts"]["queue_items"]
    assert stats["acked"] == fuzz_env.acked  # exactly the acks that succeeded; repeats changed nothing
    assert stats["superseded"] == 0
    for state, item in ((st, it) for st in queue.STATUSES for it in queue.list_items(
            fuzz_env.ctx.engine, status=st, limit=1000)):
        assert item["attempts"] >= 0 and item["status"] == state
    assert fuzz_env.kinds["fresh"] and fuzz_env.kinds["expired"] and fuzz_env.kinds["foreign"]
    print(f"\nfuzz: {fuzzed} API requests, by (test, operation, status):")
    for key, n in sorted(fuzz_env.responses.items()):
        print("  ", key, n)
    print("real delivery ids used:", dict(fuzz_env.kinds), "queue after:", stats)

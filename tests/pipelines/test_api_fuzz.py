"""Fuzz the queue HTTP API with schemathesis against the app's own OpenAPI description.

Issue 9 ("Hostile input") and issue 6 (error contract): whatever arrives at /api/v1, the answer
is never a 5xx, conforms to the OpenAPI description (status, content type, body schema; claimed
items against the queue-item contract), every 4xx is a JSON body {"error": {"code", "message"}},
nothing works without a valid token, and afterwards the stored data is intact.

The app is the real one (`pipelines.web.create_app`) on a fresh SQLite database seeded from the
sample posts through import and triage, so claims hand out real contract items. Schemathesis
generates valid and invalid requests (positive and negative modes, its coverage, example and
fuzzing phases) with a fixed seed, derandomized, so a run is repeatable.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections import Counter
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
MAX_EXAMPLES = 40  # per operation and mode, for the fuzzing phase
SAMPLE = Path(pipelines.__file__).resolve().parent / "resources" / "sample_posts.jsonl"
WRONG_AUTH = [None, "Bearer", "Bearer pnt_not-a-real-token", "Basic bGFwb3I6eA==", "bearer  ",
              "Bearer " + "x" * 5000, "Token pnt_x"]


@dataclass
class FuzzEnv:
    """The app under test, its database and what the fuzzing did to it."""

    app: Any
    ctx: Any
    clock: FrozenClock
    token: str
    other_token: str
    baseline: dict[str, Any]
    statuses: Counter = field(default_factory=Counter)
    substituted: Counter = field(default_factory=Counter)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def snapshot(engine: Any) -> dict[str, Any]:
    """What must survive the fuzzing unchanged: rows per table, and every queue item's payload."""
    q = s.queue_items
    with engine.connect() as conn:
        counts = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                  for t in (s.posts, s.triage_results, s.queue_items, s.consumers, s.raw_pages)}
        payloads = {r.item_id: r.payload for r in conn.execute(select(q.c.item_id, q.c.payload))}
    return {"counts": counts, "payloads": payloads}


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory: pytest.TempPathFactory) -> FuzzEnv:
    tmp = tmp_path_factory.mktemp("fuzz")
    clock = FrozenClock()
    ctx = make_context(f"sqlite:///{tmp / 'pantau.db'}", tmp, clock)
    run.import_file(ctx, SAMPLE, "jsonl")
    report = run.triage_pending(ctx)
    assert report.enqueued > 20, report
    token = consumers.add_consumer(ctx.engine, "fuzzer", now=clock()).token
    other = consumers.add_consumer(ctx.engine, "other", now=clock()).token
    env = FuzzEnv(create_app(ctx), ctx, clock, token, other, snapshot(ctx.engine))
    fuzzed = APP.target.openapi()
    APP.target = env.app  # from here on, schemathesis's requests reach the seeded app
    assert env.app.openapi() == fuzzed  # the description fuzzed is the seeded app's own
    yield env
    ctx.close()


class _AppUnderTest:
    """An ASGI app forwarding to `target`. Schemathesis reads the OpenAPI document when pytest
    collects this module, before any fixture runs; the seeded app only exists once `fuzz_env`
    has built it. Until then the target is the same app on an in-memory database it never
    opens (building the app and its OpenAPI document touches no database)."""

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
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG).include(path_regex=r"^/api/v1/")


def _pick(case: Any, n: int) -> int:
    """A choice among n that depends only on the generated case (so a rerun makes the same one)."""
    material = json.dumps([case.path_parameters, case.body if isinstance(case.body, (dict, list, str,
                          int, float, bool, type(None))) else repr(case.body)], sort_keys=True,
                          default=repr)
    return int(hashlib.sha256(material.encode()).hexdigest(), 16) % n


def _claim_one(env: FuzzEnv, consumer: str, lease: int = 300) -> str | None:
    got = queue.claim(env.ctx.engine, consumer, 1, lease, now=env.clock())
    return got[0].delivery_id if got else None


def _real_delivery_id(env: FuzzEnv, case: Any) -> None:
    """Most ack/nack cases would only hit unknown ids; give some of them a real one:
    a fresh own delivery, a settled one, an expired one, or another consumer's."""
    if case.operation.path.endswith("/claim") or not isinstance(case.path_parameters.get("delivery_id"), str):
        return
    kind = ("random", "fresh", "settled", "expired", "foreign")[_pick(case, 5)]
    delivery: str | None = None
    if kind == "fresh":
        delivery = _claim_one(env, "fuzzer")
    elif kind == "settled":
        delivery = _claim_one(env, "fuzzer")
        if delivery:
            queue.ack(env.ctx.engine, delivery, now=env.clock(), consumer="fuzzer")
    elif kind == "expired":
        delivery = _claim_one(env, "fuzzer", lease=1)
        env.clock.advance(seconds=2)
    elif kind == "foreign":
        delivery = _claim_one(env, "other")
    if delivery:
        env.substituted[kind] += 1
        case.path_parameters = {**case.path_parameters, "delivery_id": delivery}


def header(response: Any, name: str) -> str:
    """A response header (schemathesis keeps each header as a list of values)."""
    values = response.headers.get(name.lower()) or response.headers.get(name) or [""]
    return values[0] if isinstance(values, list) else values


def assert_error_contract(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400:
        assert header(response, "content-type").startswith("application/json"), response.headers
        body = response.json()
        assert set(body) == {"error"}, body
        error = body["error"]
        assert isinstance(error.get("code"), str) and error["code"], body
        assert isinstance(error.get("message"), str) and error["message"], body


@schema.parametrize()
def test_fuzz_with_a_valid_token(case: Any, fuzz_env: FuzzEnv) -> None:
    _real_delivery_id(fuzz_env, case)
    response = case.call_and_validate(headers=fuzz_env.auth)
    fuzz_env.statuses[(case.operation.label, response.status_code)] += 1
    assert_error_contract(response)


@schema.parametrize()
def test_fuzz_without_a_valid_token(case: Any, fuzz_env: FuzzEnv) -> None:
    _real_delivery_id(fuzz_env, case)
    wrong = WRONG_AUTH[_pick(case, len(WRONG_AUTH))]
    case.headers = {k: v for k, v in case.headers.items() if k.lower() != "authorization"}
    response = case.call(headers={"Authorization": wrong} if wrong else None)
    fuzz_env.statuses[(case.operation.label + " (no token)", response.status_code)] += 1
    assert response.status_code == 401, (wrong, response.status_code, response.text)
    assert header(response, "WWW-Authenticate").startswith('Bearer realm="pantau"')
    assert_error_contract(response)
    assert response.json()["error"]["code"] in ("unauthorized", "invalid_token")


def test_stored_data_is_intact_after_fuzzing(fuzz_env: FuzzEnv) -> None:
    after = snapshot(fuzz_env.ctx.engine)
    assert after["counts"] == fuzz_env.baseline["counts"]
    assert after["payloads"] == fuzz_env.baseline["payloads"]
    for payload in after["payloads"].values():
        assert_valid(payload if isinstance(payload, dict) else json.loads(payload))
    stats = queue.stats(fuzz_env.ctx.engine, now=fuzz_env.clock())
    assert sum(stats[k] for k in queue.STATUSES) == fuzz_env.baseline["counts"]["queue_items"]
    print("fuzz responses:", dict(sorted(fuzz_env.statuses.items())))
    print("real delivery ids used:", dict(fuzz_env.substituted), "queue:", stats)


OPS = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG).include(path_regex=r"^/(healthz|metrics)$")


@OPS.parametrize()
def test_fuzz_ops(case: Any, fuzz_env: FuzzEnv) -> None:
    response = case.call_and_validate()
    fuzz_env.statuses[(case.operation.label, response.status_code)] += 1
    assert response.status_code < 500

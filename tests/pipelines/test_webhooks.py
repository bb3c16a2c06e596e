"""Push delivery to consumers' webhooks: signatures, retries with backoff and jitter, dead
letters, and isolation between consumers. The consumers' endpoints are faked with `responses`
(the real `requests` client runs); randomness, clocks and timeouts are injected."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import responses
from sqlalchemy import select

from pipelines import consumers, queue, webhooks
from pipelines.context import AppContext
from pipelines.store import schema as s
from tests.conftest import FrozenClock
from tests.pipelines import test_queue_support as support
from tests.pipelines.test_queue_support import (
    _post_rows,
    assert_valid,
    contract_item,
    make_ctx,
    seed_items,
)

A_URL = "https://lapor.example/hooks/pantau"
B_URL = "https://sikd.example/webhook?key=abc"
CONFIG = webhooks.WebhookConfig(max_attempts=3, timeout_seconds=2, backoff_base_seconds=30,
                                backoff_max_seconds=3600, workers=4, batch_per_consumer=20)

# Fixtures shared by the queue test modules (one database per module, emptied per test).
qdb_url = support.qdb_url
queue_db_url = support.queue_db_url


def half() -> float:
    return 0.5


@pytest.fixture
def ctx(qdb_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[AppContext]:
    context = make_ctx(qdb_url, tmp_path, clock)
    yield context
    context.close()


@pytest.fixture
def pair(ctx: AppContext, clock: FrozenClock) -> dict[str, consumers.NewConsumer]:
    return {name: consumers.add_consumer(ctx.engine, name, now=clock(), webhook_url=url)
            for name, url in (("lapor", A_URL), ("sikd", B_URL))}


def dispatch(ctx: AppContext, clock: FrozenClock, **kwargs) -> webhooks.DispatchReport:  # noqa: ANN003
    with requests.Session() as session:
        return webhooks.dispatch_due(ctx, session, clock(), config=kwargs.pop("config", CONFIG),
                                     rng=kwargs.pop("rng", half), **kwargs)


def states(ctx: AppContext) -> dict[tuple[str, str], tuple[str, int]]:
    c, w, q = s.consumers, s.webhook_deliveries, s.queue_items
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(c.c.name, q.c.item_id, w.c.status, w.c.attempts)
                            .join(c, c.c.id == w.c.consumer_id).join(q, q.c.id == w.c.queue_item_pk))
        return {(r.name, r.item_id): (r.status, r.attempts) for r in rows}


# --- signatures --------------------------------------------------------------------------------

def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    body = b'{"schema":"pantau.queue-item/1"}'
    expected = hmac.new(b"whsec_test", b"1795334400." + body, hashlib.sha256).hexdigest()
    assert webhooks.sign("whsec_test", 1795334400, body) == f"sha256={expected}"
    assert webhooks.sign("whsec_test", "1795334400", body.decode()) == f"sha256={expected}"


def test_verify_signature_checks_secret_body_and_replay_window() -> None:
    body, ts = b'{"a":1}', 1795334400
    good = webhooks.sign("whsec_test", ts, body)
    assert webhooks.verify_signature("whsec_test", ts, body, good, now=ts + 299)
    assert webhooks.verify_signature("whsec_test", str(ts), body, good, now=float(ts - 300))
    assert not webhooks.verify_signature("whsec_test", ts, body, good, now=ts + 301)  # replayed late
    assert not webhooks.verify_signature("whsec_test", ts, body, good, now=ts + 60, window=30)
    assert not webhooks.verify_signature("whsec_other", ts, body, good, now=ts)
    assert not webhooks.verify_signature("whsec_test", ts, b'{"a":2}', good, now=ts)
    assert not webhooks.verify_signature("whsec_test", ts + 1, body, good, now=ts)
    assert not webhooks.verify_signature("whsec_test", "soon", body, good, now=ts)
    assert not webhooks.verify_signature("whsec_test", ts, body, "", now=ts)


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    steps = [webhooks.backoff_seconds(n, base=30, cap=3600, rng=half) for n in range(1, 10)]
    assert steps[:4] == [22.5, 45.0, 90.0, 180.0]
    assert steps[-1] == 2700.0  # 3/4 of the cap
    assert webhooks.backoff_seconds(3, base=30, cap=3600, rng=lambda: 0.0) == 60.0
    assert webhooks.backoff_seconds(3, base=30, cap=3600, rng=lambda: 0.999) == pytest.approx(119.94)


def test_config_is_validated() -> None:
    assert webhooks.WebhookConfig.from_section({"max_attempts": 4}).max_attempts == 4
    for bad in ({"max_attempts": 0}, {"timeout_seconds": "10"}, {"nope": 1}, {"workers": True}):
        with pytest.raises(webhooks.WebhookError):
            webhooks.WebhookConfig.from_section(bad)


# --- delivery ----------------------------------------------------------------------------------

@responses.activate
def test_each_consumer_gets_every_item_signed(ctx: AppContext, clock: FrozenClock, pair) -> None:  # noqa: ANN001
    seen: dict[str, list[dict]] = {"lapor": [], "sikd": []}

    def receiver(name: str):  # noqa: ANN202
        def callback(request):  # noqa: ANN001, ANN202
            body = request.body
            assert webhooks.verify_signature(pair[name].webhook_secret,
                                             request.headers["X-Pantau-Timestamp"], body,
                                             request.headers["X-Pantau-Signature"], now=clock())
            assert request.headers["Content-Type"].startswith("application/json")
            item = json.loads(body)
            assert_valid(item)
            seen[name].append({"item": item, "delivery": request.headers["X-Pantau-Delivery"],
                               "attempt": request.headers["X-Pantau-Attempt"]})
            return (204, {}, "")
        return callback

    responses.add_callback(responses.POST, A_URL, callback=receiver("lapor"))
    responses.add_callback(responses.POST, B_URL.split("?")[0], callback=receiver("sikd"))
    items = seed_items(ctx.engine, 3, now=clock())
    report = dispatch(ctx, clock)
    assert (report.fanned_out, report.sent, report.failed) == (6, 6, 0)
    for name in ("lapor", "sikd"):
        assert {x["item"]["item_id"] for x in seen[name]} == {i["item_id"] for i in items}
        assert {x["attempt"] for x in seen[name]} == {"1"}
    deliveries = [x["delivery"] for got in seen.values() for x in got]
    assert len(set(deliveries)) == 6
    assert set(states(ctx).values()) == {("delivered", 1)}
    assert dispatch(ctx, clock).sent == 0  # nothing twice
    assert queue.stats(ctx.engine, now=clock())["webhook_delivered"] == 6


@responses.activate
def test_failures_retry_with_backoff_then_dead_letter_and_retry(ctx: AppContext, clock: FrozenClock,
                                                                pair) -> None:  # noqa: ANN001
    deliveries: list[str] = []

    def flaky(request):  # noqa: ANN001, ANN202
        deliveries.append(request.headers["X-Pantau-Delivery"])
        return (500, {}, "boom")

    responses.add_callback(responses.POST, A_URL, callback=flaky)
    responses.add(responses.POST, B_URL.split("?")[0], status=200)
    (item,) = seed_items(ctx.engine, 1, now=clock())
    first = dispatch(ctx, clock)
    assert (first.sent, first.failed) == (1, 1)
    assert states(ctx)[("lapor", item["item_id"])] == ("pending", 1)
    clock.advance(seconds=22)  # first retry due at 15 + 0.5 * 15 = 22.5 s
    assert dispatch(ctx, clock).failed == 0 and len(deliveries) == 1
    clock.advance(seconds=1)
    assert dispatch(ctx, clock).failed == 1 and len(deliveries) == 2
    clock.advance(seconds=44)  # second retry at 30 + 0.5 * 30 = 45 s
    assert dispatch(ctx, clock).failed == 0
    clock.advance(seconds=2)
    assert dispatch(ctx, clock).dead == 1  # third failure: max_attempts = 3
    assert len(set(deliveries)) == 1 and len(deliveries) == 3  # same delivery id on every retry
    assert states(ctx)[("lapor", item["item_id"])] == ("dead", 3)
    assert states(ctx)[("sikd", item["item_id"])] == ("delivered", 1)
    assert queue.stats(ctx.engine, now=clock())["webhook_dead"] == 1
    (dead,) = webhooks.deliveries(ctx.engine, "lapor", status="dead")
    assert dead["last_status"] == 500 and "HTTP 500" in dead["last_error"]
    clock.advance(days=1)
    assert dispatch(ctx, clock).sent == 0  # dead stays dead
    assert webhooks.retry_dead(ctx.engine, "lapor", now=clock()) == 1
    responses.replace(responses.POST, A_URL, status=202)
    assert dispatch(ctx, clock).sent == 1
    assert states(ctx)[("lapor", item["item_id"])] == ("delivered", 1)


@responses.activate
def test_retry_after_and_redirects(ctx: AppContext, clock: FrozenClock, pair) -> None:  # noqa: ANN001
    responses.add(responses.POST, A_URL, status=429, headers={"Retry-After": "600"})
    responses.add(responses.POST, B_URL.split("?")[0], status=302, headers={"Location": "https://evil.example/"})
    (item,) = seed_items(ctx.engine, 1, now=clock())
    assert dispatch(ctx, clock).failed == 2
    rows = {r["item_id"]: r for r in webhooks.deliveries(ctx.engine, "lapor")}
    assert rows[item["item_id"]]["next_attempt_at"] == clock() + timedelta(seconds=600)
    (redirected,) = webhooks.deliveries(ctx.engine, "sikd")
    assert redirected["last_error"] == "HTTP 302"  # not followed
    assert len(responses.calls) == 2


@responses.activate
def test_a_slow_endpoint_does_not_hold_back_the_others(ctx: AppContext, clock: FrozenClock, pair) -> None:  # noqa: ANN001
    b_called = threading.Event()
    order: list[str] = []

    def slow(request):  # noqa: ANN001, ANN202
        # Stands for a slow server: it answers only once the other consumer has been served
        # (or gives up after 10 s, which fails the test below).
        order.append("lapor:start")
        b_called.wait(timeout=10)
        order.append("lapor:end")
        return (200, {}, "")

    def quick(request):  # noqa: ANN001, ANN202
        order.append("sikd")
        b_called.set()
        return (200, {}, "")

    responses.add_callback(responses.POST, A_URL, callback=slow)
    responses.add_callback(responses.POST, B_URL.split("?")[0], callback=quick)
    seed_items(ctx.engine, 1, now=clock())
    report = dispatch(ctx, clock)
    assert report.sent == 2
    assert order.index("sikd") < order.index("lapor:end")


@responses.activate
def test_a_failing_endpoint_stops_its_own_batch_only(ctx: AppContext, clock: FrozenClock, pair) -> None:  # noqa: ANN001
    responses.add(responses.POST, A_URL, body=requests.Timeout("read timed out"))
    responses.add(responses.POST, B_URL.split("?")[0], status=200)
    seed_items(ctx.engine, 5, now=clock())
    report = dispatch(ctx, clock)
    assert report.by_consumer["sikd"] == {"sent": 5}
    assert report.by_consumer["lapor"] == {"failed": 1, "deferred": 4}
    assert sum(1 for c in responses.calls if c.request.url.startswith(A_URL)) == 1
    (failed,) = [r for r in webhooks.deliveries(ctx.engine, "lapor") if r["attempts"] == 1]
    assert failed["last_error"] == "timeout after 2s" and failed["last_status"] is None
    # the four deferred ones are not penalised: no attempt counted, due again next round
    assert sorted(r["attempts"] for r in webhooks.deliveries(ctx.engine, "lapor")) == [0, 0, 0, 0, 1]


@responses.activate
def test_time_budget_defers_the_rest(ctx: AppContext, clock: FrozenClock, pair) -> None:  # noqa: ANN001
    responses.add(responses.POST, A_URL, status=200)
    responses.add(responses.POST, B_URL.split("?")[0], status=200)
    seed_items(ctx.engine, 3, now=clock())
    ticks = iter(range(0, 10_000, 40))  # each look at the monotonic clock: 40 s later
    lock = threading.Lock()

    def monotonic() -> float:
        with lock:
            return float(next(ticks))

    config = webhooks.WebhookConfig(round_seconds=60, workers=1)
    report = dispatch(ctx, clock, config=config, monotonic=monotonic)
    assert report.sent == 2 and report.deferred == 4
    assert dispatch(ctx, clock).sent == 4


@responses.activate
def test_superseded_revisions_are_not_pushed(ctx: AppContext, clock: FrozenClock, pair) -> None:  # noqa: ANN001
    responses.add(responses.POST, A_URL, status=503)
    responses.add(responses.POST, B_URL.split("?")[0], status=200)
    with ctx.engine.begin() as conn:
        (pk,) = _post_rows(conn, 1, clock(), 0)
        rev1 = contract_item(now=clock(), post_id="77", revision=1, tier="P3", score=0.3)
        queue.enqueue(conn, rev1, post_pk=pk, case_id=None, now=clock())
    dispatch(ctx, clock)  # lapor fails (pending), sikd gets revision 1
    with ctx.engine.begin() as conn:
        rev2 = contract_item(now=clock(), post_id="77", revision=2, tier="P1", score=0.9)
        queue.enqueue(conn, rev2, post_pk=pk, case_id=None, now=clock())
    responses.replace(responses.POST, A_URL, status=200)
    clock.advance(hours=1)
    report = dispatch(ctx, clock)
    assert report.superseded == 1 and report.sent == 2
    got = states(ctx)
    assert got[("lapor", rev1["item_id"])][0] == "superseded"
    assert got[("lapor", rev2["item_id"])][0] == "delivered"
    assert got[("sikd", rev1["item_id"])][0] == got[("sikd", rev2["item_id"])][0] == "delivered"


@responses.activate
def test_only_active_webhook_consumers_and_only_new_items(ctx: AppContext, clock: FrozenClock) -> None:
    responses.add(responses.POST, A_URL, status=200)
    seed_items(ctx.engine, 2, now=clock())  # before any consumer existed
    clock.advance(minutes=1)
    consumers.add_consumer(ctx.engine, "puller", now=clock())  # no webhook
    consumers.add_consumer(ctx.engine, "lapor", now=clock(), webhook_url=A_URL)
    consumers.add_consumer(ctx.engine, "paused", now=clock(), webhook_url=A_URL + "/x")
    consumers.set_active(ctx.engine, "paused", False)
    seed_items(ctx.engine, 1, now=clock(), start=50)
    report = dispatch(ctx, clock)
    assert report.sent == 1 and len(responses.calls) == 1
    assert {name for name, _ in states(ctx)} == {"lapor"}
    consumers.remove_consumer(ctx.engine, "lapor")
    assert states(ctx) == {}  # its deliveries go with it


@responses.activate
def test_secrets_never_reach_the_logs(ctx: AppContext, clock: FrozenClock, pair,  # noqa: ANN001
                                      caplog: pytest.LogCaptureFixture) -> None:
    responses.add(responses.POST, A_URL, status=500)
    responses.add(responses.POST, B_URL.split("?")[0], body=requests.ConnectionError(B_URL))
    seed_items(ctx.engine, 2, now=clock())
    with caplog.at_level(logging.DEBUG):
        dispatch(ctx, clock)
    text = caplog.text + json.dumps(webhooks.deliveries(ctx.engine, "sikd"), default=str)
    assert "webhook delivery" in caplog.text
    for new in pair.values():
        assert new.webhook_secret not in text and new.token not in text
    assert "key=abc" not in text
    assert "whsec_" not in repr(pair["lapor"]) and "pnt_" not in repr(pair["lapor"])

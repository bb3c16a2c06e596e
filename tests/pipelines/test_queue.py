"""The pull queue's Python API on SQLite and PostgreSQL: leases, acks, nacks, dead letters."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from pipelines import queue
from pipelines.store import schema as s
from pipelines.store.db import open_database
from tests.pipelines import test_queue_support as support
from tests.pipelines.test_queue_support import (
    contract_item,
    seed_items,
)

# Fixtures shared by the queue test modules (one database per module, emptied per test).
qdb_url = support.qdb_url
qengine = support.qengine
queue_db_url = support.queue_db_url


def _rows(engine) -> list[dict]:  # noqa: ANN001
    with engine.connect() as conn:
        items = [dict(r._mapping) for r in conn.execute(select(s.queue_items).order_by(s.queue_items.c.id))]
        deliveries = [dict(r._mapping) for r in conn.execute(
            select(s.queue_deliveries).order_by(s.queue_deliveries.c.delivery_id))]
    return items + deliveries


def test_claim_leases_highest_priority_first_and_hides_leased_items(qengine, clock) -> None:  # noqa: ANN001
    items = seed_items(qengine, 4, now=clock(), scores=[0.2, 0.9, 0.5, 0.7])
    first = queue.claim(qengine, "lapor", 3, 60, now=clock())
    assert [d.item["triage"]["priority"]["score"] for d in first] == [0.9, 0.7, 0.5]
    assert first[0].lease_until == clock() + timedelta(seconds=60)
    assert len({d.delivery_id for d in first}) == 3
    second = queue.claim(qengine, "lapor", 10, 60, now=clock())
    assert [d.item["item_id"] for d in second] == [items[0]["item_id"]]
    assert queue.claim(qengine, "lapor", 10, 60, now=clock()) == []
    assert queue.stats(qengine, now=clock())["leased"] == 4


def test_expired_lease_returns_the_item_and_a_late_ack_conflicts(qengine, clock) -> None:  # noqa: ANN001
    seed_items(qengine, 1, now=clock())
    (first,) = queue.claim(qengine, "worker-a", 1, 30, now=clock())
    clock.advance(seconds=29)
    assert queue.claim(qengine, "worker-b", 1, 30, now=clock()) == []  # still leased
    clock.advance(seconds=2)
    assert queue.stats(qengine, now=clock())["lease_expired"] == 1
    # expired but not yet taken by anyone: the late ack is still refused
    with pytest.raises(queue.DeliveryConflictError) as late:
        queue.ack(qengine, first.delivery_id, now=clock())
    assert late.value.code == "lease_expired"
    (again,) = queue.claim(qengine, "worker-b", 1, 30, now=clock())
    assert again.item["item_id"] == first.item["item_id"]
    assert again.delivery_id != first.delivery_id
    with pytest.raises(queue.DeliveryConflictError):  # taken over by worker-b
        queue.ack(qengine, first.delivery_id, now=clock())
    assert queue.ack(qengine, again.delivery_id, now=clock(), consumer="worker-b") is True
    row = queue.get_item(qengine, first.item["item_id"])
    assert row["status"] == "acked" and row["attempts"] == 2
    assert [d["outcome"] for d in row["deliveries"]] in ([None, "acked"], ["acked", None])


def test_a_duplicate_ack_changes_nothing(qengine, clock) -> None:  # noqa: ANN001
    seed_items(qengine, 2, now=clock())
    delivered = queue.claim(qengine, "lapor", 2, 60, now=clock())
    assert queue.ack(qengine, delivered[0].delivery_id, now=clock(), consumer="lapor") is True
    before = _rows(qengine)
    clock.advance(seconds=5)
    assert queue.ack(qengine, delivered[0].delivery_id, now=clock(), consumer="lapor") is False
    clock.advance(seconds=120)  # even after the lease would have run out
    assert queue.ack(qengine, delivered[0].delivery_id, now=clock(), consumer="lapor") is False
    assert _rows(qengine) == before


def test_nack_with_delay_retries_later_and_a_repeat_changes_nothing(qengine, clock) -> None:  # noqa: ANN001
    seed_items(qengine, 1, now=clock())
    (d,) = queue.claim(qengine, "lapor", 1, 60, now=clock())
    result = queue.nack(qengine, d.delivery_id, now=clock(), delay_seconds=120, error="downstream 503")
    assert result == queue.NackResult("ready", clock() + timedelta(seconds=120))
    before = _rows(qengine)
    assert queue.nack(qengine, d.delivery_id, now=clock(), delay_seconds=5).status == "ready"
    assert _rows(qengine) == before
    with pytest.raises(queue.DeliveryConflictError) as exc:
        queue.ack(qengine, d.delivery_id, now=clock())
    assert exc.value.code == "already_settled"
    clock.advance(seconds=119)
    assert queue.claim(qengine, "lapor", 1, 60, now=clock()) == []
    assert queue.stats(qengine, now=clock())["ready_delayed"] == 1
    clock.advance(seconds=1)
    (again,) = queue.claim(qengine, "lapor", 1, 60, now=clock())
    assert again.item["item_id"] == d.item["item_id"]
    assert queue.get_item(qengine, d.delivery_id)["last_error"] == "downstream 503"


def test_dead_letter_after_max_attempts_is_visible_and_requeued(qengine, clock) -> None:  # noqa: ANN001
    (item,) = seed_items(qengine, 1, now=clock())
    for attempt in range(1, 4):
        (d,) = queue.claim(qengine, "lapor", 1, 60, now=clock(), max_attempts=3)
        status = queue.nack(qengine, d.delivery_id, now=clock(), error=f"fail {attempt}",
                            max_attempts=3).status
        assert status == ("dead" if attempt == 3 else "ready")
    assert queue.claim(qengine, "lapor", 1, 60, now=clock(), max_attempts=3) == []
    stats = queue.stats(qengine, now=clock())
    assert stats["dead"] == 1 and stats["ready"] == 0
    (dead,) = queue.list_items(qengine, status="dead")
    assert dead["item_id"] == item["item_id"] and "fail 3" in dead["last_error"]
    queue.requeue(qengine, item["item_id"], now=clock())
    assert queue.get_item(qengine, item["item_id"])["attempts"] == 0
    assert len(queue.claim(qengine, "lapor", 1, 60, now=clock(), max_attempts=3)) == 1


def test_requeue_refuses_live_items_and_unknown_ids(qengine, clock) -> None:  # noqa: ANN001
    (item,) = seed_items(qengine, 1, now=clock())
    with pytest.raises(queue.QueueError, match="only dead or acked"):
        queue.requeue(qengine, item["item_id"], now=clock())
    with pytest.raises(queue.ItemNotFoundError):
        queue.requeue(qengine, str(uuid.uuid4()), now=clock())


def test_expired_leases_count_as_attempts_and_dead_letter(qengine, clock) -> None:  # noqa: ANN001
    seed_items(qengine, 1, now=clock())
    for _ in range(2):
        assert len(queue.claim(qengine, "crashy", 1, 10, now=clock(), max_attempts=2)) == 1
        clock.advance(seconds=11)  # the consumer dies: no ack, no nack
    assert queue.claim(qengine, "lapor", 1, 10, now=clock(), max_attempts=2) == []
    (dead,) = queue.list_items(qengine, status="dead")
    assert dead["attempts"] == 2 and "lease expired" in dead["last_error"]
    assert queue.requeue_dead(qengine, now=clock()) == 1
    assert queue.stats(qengine, now=clock())["ready"] == 1


def test_a_consumer_cannot_settle_another_consumers_delivery(qengine, clock) -> None:  # noqa: ANN001
    seed_items(qengine, 1, now=clock())
    (d,) = queue.claim(qengine, "alpha", 1, 60, now=clock())
    with pytest.raises(queue.DeliveryNotFoundError):
        queue.ack(qengine, d.delivery_id, now=clock(), consumer="beta")
    with pytest.raises(queue.DeliveryNotFoundError):
        queue.nack(qengine, d.delivery_id, now=clock(), consumer="beta")
    assert queue.ack(qengine, d.delivery_id, now=clock(), consumer="alpha") is True


def test_unknown_delivery_ids_are_not_found(qengine, clock) -> None:  # noqa: ANN001
    for delivery_id in ("", "nope", str(uuid.uuid4()), "x" * 500):
        with pytest.raises(queue.DeliveryNotFoundError):
            queue.ack(qengine, delivery_id, now=clock())
        with pytest.raises(queue.DeliveryNotFoundError):
            queue.nack(qengine, delivery_id, now=clock())


def test_claim_arguments_are_checked(qengine, clock) -> None:  # noqa: ANN001
    cases = [
        ({"max_items": 0}, "max must be between 1 and 500"),
        ({"max_items": 501}, "max must be between 1 and 500"),
        ({"lease_seconds": 0}, "lease_seconds must be between 1 and 3600"),
        ({"lease_seconds": 3601}, "lease_seconds must be between 1 and 3600"),
        ({"max_items": True}, "max must be between"),
    ]
    for kwargs, message in cases:
        args = {"max_items": 10, "lease_seconds": 60, **kwargs}
        with pytest.raises(queue.QueueArgumentError, match=message):
            queue.claim(qengine, "lapor", args["max_items"], args["lease_seconds"], now=clock())
    with pytest.raises(queue.QueueArgumentError, match="delay_seconds must be between 0 and 86400"):
        queue.nack(qengine, str(uuid.uuid4()), now=clock(), delay_seconds=-1)


def test_a_newer_revision_supersedes_the_ready_older_one(qengine, clock) -> None:  # noqa: ANN001
    from tests.pipelines.test_queue_support import _post_rows

    with qengine.begin() as conn:
        (pk,) = _post_rows(conn, 1, clock(), 0)
        rev1 = contract_item(now=clock(), post_id="500", revision=1, tier="P3", score=0.3)
        rev2 = contract_item(now=clock(), post_id="500", revision=2, tier="P1", score=0.8)
        assert queue.enqueue(conn, rev1, post_pk=pk, case_id=None, now=clock())
        assert queue.enqueue(conn, rev2, post_pk=pk, case_id=None, now=clock())
        assert not queue.enqueue(conn, {**rev2, "item_id": str(uuid.uuid4())}, post_pk=pk,
                                 case_id=None, now=clock())  # same key + revision: ignored
    (d,) = queue.claim(qengine, "lapor", 10, 60, now=clock())
    assert (d.item["idempotency_key"], d.item["revision"]) == ("x:500", 2)
    assert queue.get_item(qengine, rev1["item_id"])["status"] == "superseded"


def test_queue_config_reads_max_attempts() -> None:
    assert queue.QueueConfig.from_section({}).max_attempts == queue.MAX_ATTEMPTS
    assert queue.QueueConfig.from_section({"max_attempts": 3, "policy": {}}).max_attempts == 3
    for bad in (0, 101, "3", True):
        with pytest.raises(queue.QueueError, match="max_attempts"):
            queue.QueueConfig.from_section({"max_attempts": bad})


def test_threads_claiming_on_sqlite_never_share_an_item(sqlite_url: str, clock) -> None:  # noqa: ANN001
    """The web app serves claims from a thread pool: BEGIN IMMEDIATE keeps them apart."""
    engine = open_database(sqlite_url)
    seed_items(engine, 120, now=clock())
    seen: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while batch := queue.claim(engine, "t", 7, 600, now=clock()):
                seen.extend(d.item["item_id"] for d in batch)
                for d in batch[::2]:
                    queue.ack(engine, d.delivery_id, now=clock())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(seen) == 120 and len(set(seen)) == 120
    engine.dispose()


def test_ack_many_settles_a_batch_and_reports_each_id(qengine, clock) -> None:  # noqa: ANN001
    seed_items(qengine, 4, now=clock())
    mine = queue.claim(qengine, "lapor", 3, 60, now=clock())
    (theirs,) = queue.claim(qengine, "sikd", 1, 60, now=clock())
    queue.ack(qengine, mine[2].delivery_id, now=clock(), consumer="lapor")
    unknown = str(uuid.uuid4())
    result = queue.ack_many(qengine, [mine[0].delivery_id, mine[1].delivery_id, mine[2].delivery_id,
                                      theirs.delivery_id, unknown, "junk"],
                            now=clock(), consumer="lapor")
    assert result == {mine[0].delivery_id: "acked", mine[1].delivery_id: "acked",
                      mine[2].delivery_id: "already_acked", theirs.delivery_id: "not_found",
                      unknown: "not_found", "junk": "not_found"}
    assert queue.stats(qengine, now=clock())["acked"] == 3
    clock.advance(seconds=61)
    assert queue.ack_many(qengine, [theirs.delivery_id], now=clock(), consumer="sikd") == {
        theirs.delivery_id: "lease_expired"}
    assert queue.ack_many(qengine, [], now=clock()) == {}

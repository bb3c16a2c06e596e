"""`pantau queue ...` and `pantau consumers ...` on a real SQLite database."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from pipelines import queue
from pipelines.cli import main
from pipelines.consumers import hash_token
from pipelines.store import schema as s
from pipelines.store.db import open_database
from tests.conftest import FROZEN_NOW
from tests.pipelines.test_queue_support import seed_items


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], object]:
    monkeypatch.chdir(tmp_path)
    for var in ("PANTAU_CONFIG", "PANTAU_DATABASE_URL", "PANTAU_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = open_database(url)
    yield ["--database-url", url, "--data-dir", str(tmp_path)], engine
    engine.dispose()


def run(args: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _dead_letter(engine, item_id: str) -> None:  # noqa: ANN001
    now = datetime.now(timezone.utc)  # the CLI runs on the real clock
    for _ in range(queue.MAX_ATTEMPTS):
        (d,) = queue.claim(engine, "cli", 1, 60, now=now)  # the highest priority one
        assert d.item["item_id"] == item_id
        queue.nack(engine, d.delivery_id, now=now, error="schema mismatch downstream")


def test_stats_list_show_and_requeue_dead_letters(db, capsys) -> None:  # noqa: ANN001
    flags, engine = db
    items = seed_items(engine, 3, now=FROZEN_NOW, scores=[0.9, 0.5, 0.1])
    _dead_letter(engine, items[0]["item_id"])

    code, out, _ = run([*flags, "queue", "stats", "--json"], capsys)
    stats = json.loads(out)
    assert code == 0 and stats["dead"] == 1 and stats["ready"] == 2
    assert {"webhook_pending", "webhook_dead", "lease_expired", "ready_delayed"} <= set(stats)
    code, out, _ = run([*flags, "queue", "stats"], capsys)
    assert "dead 1" in out

    code, out, _ = run([*flags, "queue", "list", "--status", "dead"], capsys)
    (line,) = out.splitlines()
    assert items[0]["item_id"] in line and "dead" in line and "schema mismatch downstream" in line
    code, out, _ = run([*flags, "queue", "list", "--json"], capsys)
    assert [json.loads(x)["item_id"] for x in out.splitlines()] == [i["item_id"] for i in items]

    code, out, err = run([*flags, "queue", "show", items[0]["item_id"]], capsys)
    assert json.loads(out) == items[0]
    assert "status dead" in err and err.count("delivery ") == queue.MAX_ATTEMPTS

    code, _, err = run([*flags, "queue", "requeue", items[1]["item_id"]], capsys)
    assert code == 2 and err.startswith("pantau: error:") and "only dead or acked" in err
    code, _, err = run([*flags, "queue", "requeue"], capsys)
    assert code == 2 and "--all-dead" in err
    code, out, _ = run([*flags, "queue", "requeue", items[0]["item_id"]], capsys)
    assert code == 0 and queue.get_item(engine, items[0]["item_id"])["status"] == "ready"
    _dead_letter(engine, items[0]["item_id"])
    code, out, _ = run([*flags, "queue", "requeue", "--all-dead"], capsys)
    assert "requeued 1 dead items" in out
    code, out, _ = run([*flags, "queue", "list", "--status", "dead"], capsys)
    assert out.strip() == "no queue items with status dead"


def test_consumers_add_prints_the_token_once_and_keeps_only_its_hash(db, capsys) -> None:  # noqa: ANN001
    flags, engine = db
    code, out, err = run([*flags, "consumers", "add", "lapor", "--webhook-url",
                          "https://lapor.example/hook?key=sekret"], capsys)
    assert code == 0 and "not shown again" in err
    token = out.split("token: ")[1].split()[0]
    secret = out.split("webhook secret: ")[1].split()[0]
    assert token.startswith("pnt_") and secret.startswith("whsec_") and len(token) > 40
    with engine.connect() as conn:
        row = conn.execute(select(s.consumers)).one()
    assert row.token_hash == hash_token(token) and token not in json.dumps(list(row), default=str)

    code, out, _ = run([*flags, "consumers", "list"], capsys)
    assert "lapor" in out and "https://lapor.example/hook" in out
    assert token not in out and secret not in out and "sekret" not in out
    code, out, _ = run([*flags, "consumers", "list", "--json"], capsys)
    assert json.loads(out)["webhook"] == "https://lapor.example/hook"

    code, _, err = run([*flags, "consumers", "add", "lapor"], capsys)
    assert code == 2 and "already exists" in err
    code, _, err = run([*flags, "consumers", "add", "Bad Name!"], capsys)
    assert code == 2 and "consumer name" in err
    code, _, err = run([*flags, "consumers", "add", "x", "--webhook-url", "ftp://x"], capsys)
    assert code == 2 and "http" in err

    assert run([*flags, "consumers", "disable", "lapor"], capsys)[0] == 0
    assert "disabled" in run([*flags, "consumers", "list"], capsys)[1]
    assert run([*flags, "consumers", "enable", "lapor"], capsys)[0] == 0
    code, out, _ = run([*flags, "consumers", "deliveries", "lapor"], capsys)
    assert out.strip() == "no deliveries"
    code, out, _ = run([*flags, "consumers", "retry", "lapor"], capsys)
    assert "0 dead deliveries" in out
    assert run([*flags, "consumers", "remove", "lapor"], capsys)[0] == 0
    code, _, err = run([*flags, "consumers", "remove", "lapor"], capsys)
    assert code == 2 and "no consumer named 'lapor'" in err

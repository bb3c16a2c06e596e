"""/healthz and /metrics on a real database."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from pipelines.observability import mount_ops
from pipelines.run import import_file

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "files" / "twarc2_search.jsonl"


def _client(ctx) -> TestClient:  # noqa: ANN001
    app = FastAPI()
    mount_ops(app, ctx)
    return TestClient(app)


def test_healthz_reports_database_scheduler_and_runs(app_ctx) -> None:  # noqa: ANN001
    import_file(app_ctx, FIXTURE, "twarc2")
    body = _client(app_ctx).get("/healthz").json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["scheduler"] == "not running" and "file" in body["last_successful_run"]


def test_metrics_are_prometheus_text_without_post_text(app_ctx, clock) -> None:  # noqa: ANN001
    import_file(app_ctx, FIXTURE, "twarc2")
    clock.advance(minutes=10)
    response = _client(app_ctx).get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'pantau_posts_collected{source="file"} 3.0' in text
    assert "pantau_triage_lag_seconds 600.0" in text and 'pantau_queue_depth{state="dead"} 0.0' in text
    assert "listrik" not in text and "medan_warga" not in text


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path, clock) -> None:  # noqa: ANN001
    from tests.conftest import make_context

    ctx = make_context("postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path, clock)
    response = _client(ctx).get("/healthz")
    assert response.status_code == 503 and response.json()["database"] == "unreachable"

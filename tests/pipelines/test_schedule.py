"""The scheduler: refresh policy, jobs from config, rescheduling on rate limits, failing jobs,
SIGTERM, status, and the collection commands."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import responses
from apscheduler.schedulers.background import BackgroundScheduler

from collectors.base import CollectorError
from pipelines import checkpoints
from pipelines.cli import main
from pipelines.schedule import (
    SCHEDULE_SOURCE,
    CollectionScheduler,
    JobSpec,
    job_specs,
    refresh_due,
    source_status,
)
from tests.conftest import FrozenClock
from tests.pipelines.test_collect import SEARCH, Sleeps, context, x_fixture

T0 = datetime(2026, 11, 22, 6, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("age", "last", "due"),
    [
        (timedelta(minutes=4), None, False),  # too young: the collection snapshot is enough
        (timedelta(minutes=5), None, True),
        (timedelta(minutes=6), timedelta(minutes=5), False),  # 5-min mark already covered
        (timedelta(minutes=16), timedelta(minutes=6), True),  # crossed 15 min since
        (timedelta(minutes=29), timedelta(minutes=16), False),
        (timedelta(minutes=31), timedelta(minutes=16), True),
        (timedelta(minutes=61), timedelta(minutes=31), True),
        (timedelta(hours=5, minutes=59), timedelta(hours=5, minutes=1), False),  # hourly from 1 h
        (timedelta(hours=6, minutes=1), timedelta(hours=5, minutes=1), True),
        (timedelta(hours=47, minutes=30), timedelta(hours=47, minutes=5), False),
        (timedelta(hours=48, minutes=10), timedelta(hours=47, minutes=5), True),  # last refresh
        (timedelta(hours=49, minutes=30), timedelta(hours=47), False),  # past the horizon
        (timedelta(hours=3), None, True),  # never snapshotted
    ],
)
def test_refresh_is_dense_while_young_then_hourly_to_48_hours(age, last, due) -> None:  # noqa: ANN001
    assert refresh_due(T0, T0 + last if last is not None else None, T0 + age) is due


def test_jobs_follow_the_config_and_unconfigured_sources_are_reported(sqlite_url, tmp_path, clock) -> None:  # noqa: ANN001
    config = "[sources.x]\ninterval_minutes = 20\nrefresh_interval_minutes = 3\n"
    ctx = context(sqlite_url, tmp_path, clock, config, x_bearer_token="t")
    jobs, skipped = job_specs(ctx)
    by_id = {j.job_id: j for j in jobs}
    assert by_id["x"].interval == timedelta(minutes=20)
    assert by_id["x-metrics"].interval == timedelta(minutes=3)
    assert "reddit" not in by_id and [(r.source, r.status) for r in skipped] == [("reddit", "not_configured")]
    assert {"retention", "webhooks", "heartbeat"} <= set(by_id)  # maintenance runs beside collection
    ctx.close()


def test_sources_status_lists_the_file_job_and_reddit_quota_in_requests(sqlite_url, tmp_path, clock) -> None:  # noqa: ANN001, E501
    config = '[[sources.file]]\npath = "inbox.jsonl"\nformat = "jsonl"\n'
    ctx = context(sqlite_url, tmp_path, clock, config, reddit_client_id="i", reddit_client_secret="c")
    status = {st.source: st for st in source_status(ctx)}
    assert status["file"].state == "scheduled" and status["file"].interval_minutes == 15
    assert status["reddit"].quota["unit"] == "requests"
    assert "requests this period" in status["reddit"].line()
    ctx.close()


def test_unknown_config_key_is_a_clear_error(sqlite_url, tmp_path, clock) -> None:  # noqa: ANN001
    from pipelines.settings import SettingsError

    ctx = context(sqlite_url, tmp_path, clock, "[sources.x]\nmonthly_budget = 5\n", x_bearer_token="t")
    with pytest.raises(SettingsError, match="unknown key.*monthly_budget.*monthly_post_budget"):
        job_specs(ctx)


@pytest.fixture
def sched(sqlite_url, tmp_path, clock):  # noqa: ANN001, ANN201
    # SQLite only: the store calls here (runs, checkpoints) run on both dialects in test_collect
    ctx = context(sqlite_url, tmp_path, clock, '[sources.x]\nagencies = ["pln"]\n', x_bearer_token="t")
    scheduler = CollectionScheduler(ctx, scheduler=BackgroundScheduler(timezone=timezone.utc), sleep=Sleeps())
    scheduler.setup()
    scheduler.scheduler.start(paused=True)  # jobs get run times, nothing fires on its own
    yield scheduler
    scheduler.scheduler.shutdown(wait=False)
    ctx.close()


def test_rate_limited_job_is_moved_to_the_reset_time_and_shown_in_status(sched) -> None:  # noqa: ANN001
    ctx = sched.ctx
    reset = ctx.clock() + timedelta(minutes=40)
    with responses.RequestsMock() as api:
        api.get(SEARCH, status=429, json=x_fixture("error_429"),
                headers={"x-rate-limit-reset": str(int(reset.timestamp()))})
        (result,) = sched.run_job("x")
    assert result.status == "rate_limited"
    job = sched.scheduler.get_job("x")
    assert job.next_run_time == reset and job.coalesce and job.max_instances == 1
    sched.record_next_runs(["x"])
    status = {st.source: st for st in source_status(ctx)}
    line = status["x"].line()
    assert "rate-limited until 08:40 UTC (X rate limit on GET /2/tweets/search/recent" in line
    assert "next run 2026-11-22 08:40" in line and "quota 0/10000 posts this period" in line
    assert status["reddit"].line() == "reddit: not configured"
    assert json.dumps([st.to_dict() for st in status.values()])  # serialisable for --json


def test_auth_error_pauses_the_job_and_a_crashing_job_does_not_stop_the_scheduler(sched) -> None:  # noqa: ANN001
    with responses.RequestsMock() as api:
        api.get(SEARCH, status=401, json=x_fixture("error_401"))
        (result,) = sched.run_job("x")
    assert result.status == "auth_error" and sched.scheduler.get_job("x").next_run_time is None

    def broken(ctx, **_):  # noqa: ANN001, ANN202
        raise RuntimeError("bug in a collector")

    def failing(ctx, **_):  # noqa: ANN001, ANN202
        raise CollectorError("X unreachable")

    for job_id, runner in (("broken", broken), ("failing", failing)):
        sched.specs[job_id] = JobSpec(job_id, runner, timedelta(minutes=5), 60)
        assert sched.run_job(job_id) == []
    assert sched.scheduler.running


def test_sigterm_stops_the_scheduler_cleanly(sqlite_url, tmp_path) -> None:  # noqa: ANN001
    # APScheduler runs on the real clock: first runs a day ahead, so no job fires during the test
    clock = FrozenClock(datetime.now(timezone.utc) + timedelta(days=1))
    ctx = context(sqlite_url, tmp_path, clock, '[sources.x]\nagencies = ["pln"]\n', x_bearer_token="t")
    scheduler = CollectionScheduler(ctx)
    timer = threading.Timer(0.3, os.kill, args=(os.getpid(), signal.SIGTERM))
    started = time.monotonic()
    with responses.RequestsMock(assert_all_requests_are_fired=False):  # and none reaches the network
        timer.start()
        scheduler.run_forever(poll_seconds=0.05)
    assert time.monotonic() - started < 5 and scheduler.stop_event.is_set()
    assert not scheduler.scheduler.running
    saved = checkpoints.load_all(ctx.engine, SCHEDULE_SOURCE)
    states = {k: v.value for k, v in saved.items()}
    assert states["x"] == "stopped" and states["x-metrics"] == "stopped"
    assert set(states.values()) == {"stopped"}
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handler restored
    ctx.close()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PANTAU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PANTAU_PSEUDONYM_KEY", "cli-test-key")
    for var in ("PANTAU_DATABASE_URL", "PANTAU_X_BEARER_TOKEN", "PANTAU_REDDIT_CLIENT_ID",
                "PANTAU_REDDIT_CLIENT_SECRET", "PANTAU_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_collect_once_and_sources_commands(cli_env, capsys, monkeypatch) -> None:  # noqa: ANN001
    assert main(["collect", "x", "--once"]) == 0
    out = capsys.readouterr().out
    assert "x: not_configured, 0 new posts (no bearer token: set PANTAU_X_BEARER_TOKEN" in out
    monkeypatch.setenv("PANTAU_X_BEARER_TOKEN", "cli-token")
    (cli_env / "pantau.toml").write_text('[sources.x]\nagencies = ["pln"]\n')
    with responses.RequestsMock() as api:
        api.get(SEARCH, json=x_fixture("search_page2"))
        assert main(["collect", "x", "--once"]) == 0
    assert "x: ok, 2 new posts" in capsys.readouterr().out
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("x: last run") and "2 posts fetched (2 new)" in out and "cli-token" not in out
    assert main(["collect", "file", "--once", "--metrics"]) == 2


def test_sigterm_during_a_backoff_wait_ends_the_run_as_stopped(sched) -> None:  # noqa: ANN001
    from pipelines.collect import run_x

    def sigterm_while_waiting(seconds: float) -> None:
        sched.request_stop()
        sched._wait(seconds)  # noqa: SLF001 - the scheduler's own sleep, as jobs receive it

    with responses.RequestsMock() as api:
        api.get(SEARCH, status=503, body="upstream unavailable")
        started = time.monotonic()
        (result,) = run_x(sched.ctx, sleep=sigterm_while_waiting, should_stop=sched.stop_event.is_set)
        assert len(api.calls) == 1  # no retry after the stop
    assert result.status == "stopped" and "stop requested" in result.message
    assert time.monotonic() - started < 2

"""The worker loop (pipelines.worker): what it retries and what it lets through."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from pipelines.triage_stage import StageReport
from pipelines.worker import run_worker


class _Orig(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


class _Stage:
    """Raises the given errors on its first batches, then triages one batch of 3 and drains."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.batches = 0

    def run_batch(self) -> StageReport:
        if self.errors:
            raise self.errors.pop(0)
        self.batches += 1
        report = StageReport()
        report.claimed = report.triaged = 3 if self.batches == 1 else 0
        return report


def _deadlock() -> OperationalError:
    return OperationalError("UPDATE cases ...", {}, _Orig("40P01"))


def test_a_deadlock_with_another_worker_redoes_the_batch_without_waiting() -> None:
    waits: list[float] = []
    stage = _Stage(_deadlock(), _deadlock())
    report = run_worker(stage, drain=True, poll_seconds=1.0, sleep=waits.append)  # type: ignore[arg-type]
    assert report.triaged == 3
    assert waits == []  # a conflict is not an outage: no backoff


def test_endless_conflicts_end_the_drain() -> None:
    stage = _Stage(*[_deadlock() for _ in range(10)])
    with pytest.raises(OperationalError):
        run_worker(stage, drain=True, poll_seconds=1.0, sleep=lambda _: None)  # type: ignore[arg-type]


def test_other_database_errors_are_not_retried() -> None:
    stage = _Stage(ProgrammingError("SELECT nope", {}, _Orig("42703")))
    with pytest.raises(ProgrammingError):
        run_worker(stage, drain=True, poll_seconds=1.0, sleep=lambda _: None)  # type: ignore[arg-type]

"""The worker loop around the triage stage: survives database outages, stops on SIGTERM.

A lost connection (PostgreSQL restarted, network cut) is retried with capped exponential
backoff; in --drain mode the worker gives up after RETRIES attempts with a clear error, so a
batch run fails cleanly instead of hanging. Nothing half-written survives a failed batch: each
batch's results are written in one transaction.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError

from pipelines.store.db import StoreError
from pipelines.triage_stage import StageReport, TriageStage

log = logging.getLogger(__name__)

RETRIES = 6
MAX_BACKOFF_SECONDS = 30.0


class _Stop:
    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, _frame: object) -> None:
        log.warning("signal %d: finishing the current batch, then stopping", signum)
        self.requested = True


def run_worker(
    stage: TriageStage, *, drain: bool, poll_seconds: float, sleep: Callable[[float], None]
) -> StageReport:
    stop = _Stop()
    previous = signal.signal(signal.SIGTERM, stop)
    total = StageReport()
    failures = conflicts = 0
    try:
        while not stop.requested:
            try:
                report = stage.run_batch()
            except DBAPIError as exc:
                if _is_conflict(exc):
                    # another worker held rows this batch needed (deadlock or serialization
                    # failure): the batch was rolled back and its leases given back; redo it
                    if conflicts >= RETRIES:
                        raise
                    conflicts += 1
                    log.warning("transaction conflict with another worker, retrying the batch",
                                extra={"stage": "worker", "attempt": conflicts})
                    continue
                if not exc.connection_invalidated and not _is_connection_error(exc):
                    raise
                failures += 1
                if drain and failures > RETRIES:
                    raise StoreError(f"database unavailable after {RETRIES} retries: "
                                     f"{str(exc.orig).strip().splitlines()[0]}") from None
                wait = min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** failures)
                log.warning("database unavailable, retrying in %.1fs (attempt %d)", wait, failures,
                            extra={"stage": "worker", "wait_seconds": wait})
                sleep(wait)
                continue
            failures = conflicts = 0
            total.add(report)
            if report.claimed == 0:
                if drain:
                    break
                sleep(poll_seconds)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return total


def _is_conflict(exc: DBAPIError) -> bool:
    """PostgreSQL's deadlock_detected (40P01) or serialization_failure (40001)."""
    return getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")


def _is_connection_error(exc: DBAPIError) -> bool:
    from sqlalchemy.exc import InterfaceError, OperationalError

    return isinstance(exc, OperationalError | InterfaceError)

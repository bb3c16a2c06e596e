"""Fault drill: remote API storms for hours of simulated time (issue 9, "Faults").

X recent search and Reddit's /new listing answer from a seeded, drifting mix of good pages,
429s with and without a reset time, 500/502/503, timeouts, truncated JSON and empty results,
while posts keep arriving (quiet minutes and viral bursts). Both jobs run in one
CollectionScheduler through `run_job`, their rescheduling honoured, the scheduler restarted now
and then; backoff waits move a frozen clock instead of sleeping. Then the storm ends and the
jobs run clean until nothing is left to collect. It is the storm of
tests/pipelines/test_api_storms.py, run longer; prints the figures and PASS or FAIL.

    python bench/drill_api_storm.py [--hours 10] [--seed 9] [--jobs x,reddit] [--database-url URL]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import FrozenClock  # noqa: E402
from tests.pipelines.test_api_storms import StormReport, run_storm, storm_context  # noqa: E402


def print_report(report: StormReport, wall: float) -> None:
    storm_hours = (report.storm_end - report.runs[0].started).total_seconds() / 3600
    print(f"simulated: {report.span} ({storm_hours:.1f} h of storm, then clean runs); "
          f"scheduler restarts: {report.restarts}; wall time {wall:.1f} s")
    for job in report.jobs:
        runs = [r for r in report.runs if r.job == job]
        waits = report.waits(job)
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(report.statuses(job).items()))
        answered = ", ".join(f"{k} {v}" for k, v in sorted(report.answered[job].items()))
        print(f"\n[{job}]")
        print(f"  runs:                 {len(runs)} ({statuses})")
        print(f"  API answers:          {sum(report.answered[job].values())} ({answered})")
        print(f"  most failures in a row (one page): {report.failed_in_row[job]}")
        share = 100 * sum(waits) / max(report.span.total_seconds(), 1)
        print(f"  simulated wait:       {sum(waits):.0f} s in {len(waits)} waits "
              f"(longest {max(waits, default=0):.0f} s; {share:.1f}% of the simulated time)")
        print(f"  posts stored:         {report.stored[job]} "
              f"(served in complete pages: {report.served[job]})")
        print(f"  duplicates:           {report.duplicates[job]}")
        print(f"  missing:              {report.missing[job]} served but not stored; "
              f"{report.gaps[job]} never collected")
        print(f"  re-read after stored: {report.refetched[job]}")
        budget = f"  budget counted:       {report.budget_used[job]} {report.budget_unit[job]}"
        if job in report.delivered:
            budget += f" (X delivered {report.delivered[job]} in 200 bodies, truncated ones included)"
        print(budget)
    print()
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    print("PASS" if report.passed else "FAIL")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=10.0, help="simulated hours of storm")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--jobs", default="x,reddit", help="comma-separated: x, reddit")
    parser.add_argument("--database-url", help="an empty, migrated database (default: a fresh SQLite file)")
    args = parser.parse_args()
    jobs = tuple(j.strip() for j in args.jobs.split(",") if j.strip())
    if not jobs or set(jobs) - {"x", "reddit"}:
        parser.error("--jobs takes x, reddit or both")
    logging.basicConfig(level=logging.CRITICAL)  # the storm logs thousands of retry warnings
    with tempfile.TemporaryDirectory() as tmp:
        clock = FrozenClock()
        url = args.database_url or f"sqlite:///{Path(tmp) / 'storm.db'}"
        ctx = storm_context(url, Path(tmp), clock, jobs)
        started = time.monotonic()
        try:
            report = run_storm(ctx, clock, jobs=jobs, minutes=args.hours * 60, seed=args.seed,
                               settle_runs=1000)
        finally:
            ctx.close()
    print_report(report, time.monotonic() - started)
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())

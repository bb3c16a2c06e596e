"""Fault drill: SIGKILL `pantau worker` (or `pantau run --once`) at random moments, 20 times in
a row, then one normal run; prints whether every post was triaged once and no queue item was
lost or duplicated.

    python bench/drill_sigkill.py [--kills 20] [--posts 30000] [--command worker|run]
                                  [--database-url URL]

Posts: the bundled sample repeated with new ids, so cases, qualification and revisions all
happen (the same posts as tests/pipelines/test_worker_faults.py). Each run is killed between
0.5 and 3 s after it starts (start-up takes about 0.8 s), and the backlog is large enough that
most runs are still working when the signal comes: the count of runs killed mid-run is printed.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipelines.integrity import check_integrity  # noqa: E402
from pipelines.store.db import open_database  # noqa: E402
from tests.pipelines.test_worker_faults import write_posts  # noqa: E402 - the same posts as the tests


def drill(kills: int, posts: int, command: str, database_url: str | None, seed: int = 7) -> bool:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = database_url or f"sqlite:///{workdir / 'drill.db'}"
        env = {**os.environ, "PANTAU_DATABASE_URL": url, "PANTAU_PSEUDONYM_KEY": "drill-key",
               "PANTAU_DATA_DIR": str(workdir)}
        source = workdir / "posts.jsonl"
        write_posts(source, posts)
        config = workdir / "pantau.toml"
        config.write_text(f'[[sources.file]]\npath = "{source}"\nformat = "jsonl"\n')
        env["PANTAU_CONFIG"] = str(config)
        pantau = [sys.executable, "-m", "pipelines.cli"]
        args = ["worker", "--drain", "--batch-size", "200"] if command == "worker" else ["run", "--once"]
        step = pantau + args
        if command == "worker":
            subprocess.run(pantau + ["import", str(source)], env=env, cwd=REPO, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        killed = 0
        for _ in range(kills):
            proc = subprocess.Popen(step, env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.5, 3.0))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            proc.wait()
        final = subprocess.run(step, env=env, cwd=REPO, capture_output=True, text=True)
        engine = open_database(url)
        report = check_integrity(engine)
        engine.dispose()
        print(f"{command}: {kills} runs, {killed} killed mid-run, final run exit {final.returncode}")
        print(f"  posts {report.posts}, pending {report.pending}, done without result "
              f"{report.triaged_without_result}, result without done {report.results_without_done}, "
              f"qualified cases without queue item {report.qualified_cases_without_item}, "
              f"duplicate queue items {report.duplicate_items}")
        print("  PASS" if report.ok and final.returncode == 0 else "  FAIL")
        return report.ok and final.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--posts", type=int, default=30_000)
    parser.add_argument("--command", choices=("worker", "run"), default="worker")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    sys.exit(0 if drill(args.kills, args.posts, args.command, args.database_url) else 1)


if __name__ == "__main__":
    main()

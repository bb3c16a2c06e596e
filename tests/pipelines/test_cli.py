"""The `pantau` command: every command documented, one-line errors, idempotent demo,
and an import killed with SIGKILL that resumes with every post exactly once."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import OperationalError

from pipelines.cli import GC_THRESHOLDS, build_parser, main
from pipelines.store import schema as s

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "files"


def _subcommands(parser) -> dict:  # noqa: ANN001
    for action in parser._actions:  # noqa: SLF001 - argparse offers no public walk
        if action.__class__.__name__ == "_SubParsersAction":
            return dict(action.choices)
    return {}


def test_every_command_has_help_text() -> None:
    parser = build_parser()
    commands = _subcommands(parser)
    assert {"demo", "import", "run", "status", "queue", "worker"} <= set(commands)
    stack = list(commands.items())
    while stack:
        name, sub = stack.pop()
        assert sub.description, f"`pantau {name}` has no description"
        stack.extend((f"{name} {k}", v) for k, v in _subcommands(sub).items())


def test_readme_documents_every_command() -> None:
    readme = (REPO / "README.md").read_text()
    for name in _subcommands(build_parser()):
        assert f"pantau {name}" in readme, f"README does not mention `pantau {name}`"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PANTAU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PANTAU_PSEUDONYM_KEY", "cli-test-key")
    monkeypatch.delenv("PANTAU_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["import", "nope.jsonl"], "file not found"),
        (["import", str(FIXTURES / "tweet_harvest.csv"), "--format", "twarc2"], None),
        (["--database-url", "postgresql+nodriver://x/y", "status"], "database"),
        (["--database-url", "::::", "status"], "invalid database URL"),
    ],
)
def test_bad_input_is_one_line_error_with_nonzero_exit(env: Path, capsys, argv, message) -> None:  # noqa: ANN001
    code = main(argv)
    err = capsys.readouterr().err.strip()
    if message is None:  # every row unreadable in that format: reported per line, exit 0
        assert "skipped" in err
        return
    assert code == 2
    assert err.count("\n") == 0 and err.startswith("pantau: error:") and message in err


def test_unknown_format_is_refused_by_the_parser(env: Path, capsys) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as exc:
        main(["import", str(FIXTURES / "tweet_harvest.csv"), "--format", "excel"])
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err


def _counts(db: Path) -> dict[str, int]:
    engine = create_engine(f"sqlite:///{db}")
    tables = (s.raw_pages, s.posts, s.metric_snapshots, s.triage_results, s.cases, s.queue_items)
    with engine.connect() as conn:
        out = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables}
    engine.dispose()
    return out


def test_demo_twice_gives_the_same_database(env: Path, capsys, classifier) -> None:  # noqa: ANN001
    os.environ.pop("PANTAU_PSEUDONYM_KEY")  # the demo needs no secret
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Posts by kind" in out and "Database:" in out and "[P" in out
    first = _counts(env / "data" / "pantau.db")
    assert main(["demo"]) == 0
    assert _counts(env / "data" / "pantau.db") == first
    assert first["posts"] > 150 and first["queue_items"] > 0


def test_status_json_is_machine_readable(env: Path, capsys) -> None:  # noqa: ANN001
    assert main(["import", str(FIXTURES / "twarc2_search.jsonl")]) == 0
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tables"]["posts"] == 3 and data["stages"]["pending"] == 3
    assert data["last_runs"][0]["source"] == "file" and data["last_runs"][0]["status"] == "partial"


def test_worker_gives_a_post_naming_no_agency_the_sector_of_the_query_that_found_it(
        env: Path, capsys) -> None:  # noqa: ANN001
    text = "Tolong apknya dibenahi dong, masa eror terus"  # a Play Store review names no agency
    source = env / "reviews.jsonl"
    source.write_text("".join(json.dumps({
        "platform": "x", "post_id": post_id, "author_id": "7", "text": text,
        "created_at": "2026-11-21T00:00:00Z", **extra}) + "\n"
        for post_id, extra in (("1", {"query": "Coretax"}), ("2", {}))))
    assert main(["import", str(source)]) == 0
    assert main(["worker", "--drain"]) == 0
    capsys.readouterr()
    engine = create_engine(f"sqlite:///{env / 'data' / 'pantau.db'}")
    with engine.connect() as conn:
        t = s.triage_results
        rows = {r.post_id: (r.substance, r.agency_id) for r in conn.execute(
            select(s.posts.c.post_id, t.c.substance, t.c.agency_id).join(t, t.c.post_pk == s.posts.c.id))}
    engine.dispose()
    assert rows["1"] == ("pajak", "djp")
    assert rows["2"][0] != "pajak" and rows["2"][1] is None


def test_commands_run_with_the_tuned_garbage_collector(env: Path, capsys) -> None:  # noqa: ANN001
    """Default GC thresholds cost a worker a quarter of its time (see GC_THRESHOLDS)."""
    default = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        assert main(["status"]) == 0
        assert gc.get_threshold() == GC_THRESHOLDS
    finally:
        gc.set_threshold(*default)


def _big_jsonl(path: Path, n: int) -> None:
    with path.open("w") as handle:
        for i in range(n):
            handle.write(json.dumps({
                "platform": "x", "post_id": str(10**18 + i), "author_id": str(i % 997),
                "text": f"keluhan nomor {i}: antrean di kantor layanan lama sekali, sudah {i % 9} jam",
                "created_at": "2026-11-21T00:00:00Z",
                "metrics": [{"at": "2026-11-21T01:00:00Z", "likes": i % 50}],
            }) + "\n")


def test_import_killed_midway_then_rerun_keeps_every_post_once(env: Path) -> None:
    n = 12_000
    source = env / "big.jsonl"
    _big_jsonl(source, n)
    db = env / "data" / "pantau.db"
    command = [sys.executable, "-m", "pipelines.cli", "import", str(source)]
    proc = subprocess.Popen(command, cwd=REPO, env=os.environ.copy(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:  # kill once some pages are committed, before the end
        try:
            if db.exists() and _counts(db)["posts"] >= 1000:
                break
        except OperationalError:  # schema not migrated yet
            pass
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = _counts(db)["posts"]
    assert 0 < partial < n, "the kill should land mid-import"
    assert subprocess.run(command, cwd=REPO, env=os.environ.copy(), capture_output=True).returncode == 0
    counts = _counts(db)
    assert counts["posts"] == n and counts["metric_snapshots"] == n

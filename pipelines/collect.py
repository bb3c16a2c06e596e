"""Collecting the configured sources once: the part of `pantau run --once` before triage.

Sources come from the config file:

    [[sources.file]]              # a file dropped by another tool, imported when it changes
    path = "inbox/tweets.csv"
    format = "tweet-harvest"

Live platforms (X, Reddit) register their collection functions in SOURCE_RUNNERS.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from collectors.base import CollectorError
from pipelines.context import AppContext
from pipelines.run import import_file
from pipelines.settings import SettingsError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceResult:
    source: str
    status: str  # ok, partial, error, not_configured, rate_limited
    posts_new: int = 0
    message: str = ""


def _run_files(ctx: AppContext) -> list[SourceResult]:
    entries = ctx.settings.section("sources").get("file", [])
    if not isinstance(entries, list):
        raise SettingsError("[[sources.file]] must be an array of tables")
    results = []
    for entry in entries:
        path = entry.get("path") if isinstance(entry, dict) else None
        if not path:
            raise SettingsError("[[sources.file]] entries need a path")
        try:
            report = import_file(ctx, Path(path), entry.get("format"))
        except CollectorError as exc:
            results.append(SourceResult(f"file:{Path(path).name}", "error", 0, str(exc)))
            continue
        results.append(SourceResult(f"file:{Path(path).name}", "partial" if report.errors else "ok",
                                    report.posts_new, f"{len(report.errors)} rows skipped"))
    return results


# source name -> function collecting it once; live collectors add themselves here.
SOURCE_RUNNERS: dict[str, Callable[[AppContext], list[SourceResult]]] = {"file": _run_files}


def collect_once(ctx: AppContext) -> list[SourceResult]:
    """Run every configured source once; one failing source never stops the others."""
    results: list[SourceResult] = []
    for name, runner in SOURCE_RUNNERS.items():
        try:
            results.extend(runner(ctx))
        except CollectorError as exc:
            log.warning("source %s failed: %s", name, exc)
            results.append(SourceResult(name, "error", 0, str(exc)))
    return results

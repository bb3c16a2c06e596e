"""The `pantau` command: one CLI, composable stages.

Each area registers its subcommands from its own module (`register(subparsers)`); every
command's handler takes the parsed args and returns an exit code. Only here are errors turned
into one-line messages: a `PantauError` prints `pantau: error: ...` and exits 2.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Sequence

from sqlalchemy.exc import DBAPIError

from triage.errors import PantauError

# Modules that contribute subcommands, in the order `pantau --help` lists them.
COMMAND_MODULES = (
    "pipelines.cli.core",
    "pipelines.cli.models_cmd",
    "pipelines.cli.privacy_cmd",
    "pipelines.cli.virality_cmd",
    "pipelines.cli.queue_cmd",
    "pipelines.cli.consumers_cmd",
    "pipelines.cli.collect_cmd",
    "pipelines.cli.web_cmd",
    "pipelines.cli.users_cmd",
)

log = logging.getLogger("pantau")

# Python collects cyclic garbage every 700 net allocations and rescans every long-lived object
# at each full collection. A worker keeps a grouping index of ~1M long-lived objects and
# allocates millions of short-lived ones, so with the defaults the collector took 9.7 s of a
# 41 s one-worker run on 77.6k posts (63 full scans of a growing heap); with these it takes
# 0.4 s and peak memory is the same (measured in bench_e2e's setting). A full collection still
# comes every ~10M allocations (threshold 100 measured the same), so cyclic garbage of a
# long-running scheduler or web server does not wait long. Our code makes few cycles.
GC_THRESHOLDS = (50_000, 20, 10)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="pantau",
        description="Pantau: social-media complaint monitoring and triage for Indonesian public services.",
    )
    parser.add_argument("--config", help="config file (default: ./pantau.toml or $PANTAU_CONFIG)")
    parser.add_argument("--database-url",
                        help="database URL (default: $PANTAU_DATABASE_URL or SQLite under the data folder)")
    parser.add_argument("--data-dir", help="data folder for the SQLite file and logs (default: ./var)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("--log-format", choices=("text", "json"), help="log line format on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # an area not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    from pipelines.logs import setup_logging

    try:
        from pathlib import Path

        from pipelines.settings import load_settings

        settings = load_settings({"log_format": args.log_format},
                                 config_path=Path(args.config) if args.config else None)
        setup_logging(verbosity=args.verbose, fmt=settings.log_format, level=settings.log_level)
    except PantauError:  # the command itself reports bad settings, as a one-line error
        setup_logging(verbosity=args.verbose, fmt=args.log_format or "text", level="WARNING")
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        return int(args.handler(args) or 0)
    except PantauError as exc:
        print(f"pantau: error: {exc}", file=sys.stderr)
        return 2
    except DBAPIError as exc:  # the database went away or refused: one line, no traceback
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        print(f"pantau: error: database error: {reason}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("pantau: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

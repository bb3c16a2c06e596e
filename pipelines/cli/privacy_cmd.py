"""Privacy commands: `pantau redact` (JSONL in, redacted JSONL out) and `pantau purge`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import IO, Any

from pipelines.context import context_from_args
from triage.redact import redact


def register(sub: Any) -> None:
    p = sub.add_parser("redact", help="redact personal data in JSONL posts",
                       description="Read JSONL lines with at least {\"id\", \"text\"}; write "
                       "{\"id\", \"text\": <redacted>, \"entities\": [{\"type\", \"start\", \"end\"}]} "
                       "with offsets into the input text. Agency handles of the registry are kept.")
    p.add_argument("file", nargs="?", default="-", help="input JSONL file, or - for stdin (default)")
    p.set_defaults(handler=cmd_redact)

    p = sub.add_parser("purge", help="purge raw text past retention, or of one deleted post",
                       description="Empty raw text and raw pages older than the retention period "
                       "(--expired), or those of one post deleted at its source (--post).")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--expired", action="store_true", help="purge everything past retention")
    group.add_argument("--post", metavar="PLATFORM:ID", help="purge one post, e.g. x:1879859779184820459")
    p.set_defaults(handler=cmd_purge)


def _lines(name: str) -> Iterator[tuple[int, str]]:
    handle: IO[bytes] = sys.stdin.buffer if name == "-" else open(name, "rb")  # noqa: SIM115
    with handle:
        for number, raw in enumerate(handle, start=1):
            yield number, raw.decode("utf-8", "replace")


def cmd_redact(args: Any) -> int:
    from pathlib import Path

    from collectors.base import CollectorError

    if args.file != "-" and not Path(args.file).is_file():
        raise CollectorError(f"file not found: {args.file}")
    ctx = context_from_args(args)
    protected = ctx.registry.handles
    out = sys.stdout
    bad = total = 0
    for number, line in _lines(args.file):
        if not line.strip():
            continue
        total += 1
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise ValueError("needs a \"text\" string")
        except ValueError as exc:
            bad += 1
            print(f"line {number}: {exc if 'text' in str(exc) else 'not valid JSON'} (skipped)",
                  file=sys.stderr)
            continue
        result = redact(row["text"], protected_handles=protected)
        out.write(json.dumps({
            "id": row.get("id"), "text": result.text,
            "entities": [{"type": e.type, "start": e.start, "end": e.end} for e in result.entities],
        }, ensure_ascii=False) + "\n")
    return 1 if total and bad == total else 0  # nothing usable at all is a failure


def cmd_purge(args: Any) -> int:
    from pipelines.retention import purge, purge_post

    ctx = context_from_args(args)
    if args.expired:
        report = purge(ctx)
    else:
        report = purge_post(ctx.engine, args.post, now=ctx.clock())
    print(f"purged raw text of {report.posts} posts and {report.raw_pages} raw pages")
    return 0

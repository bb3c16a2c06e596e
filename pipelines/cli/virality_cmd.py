"""`pantau virality [FILE|-]`: virality score and 24 h forecast of posts given as JSONL.

Input, one post a line: {"id", "created_at", "author_followers", "snapshots": [{"at",
"reposts", "quotes", "replies", "likes"}]} (times ISO-8601 UTC; Reddit snapshots may carry
"score" and "comments" instead). Output, one line each, in input order:
{"id", "score", "forecast_24h": {"engagement", "low", "high"}}, engagement being reposts +
quotes + replies + likes at 24 h; a post that cannot be scored gets {"id", "error": reason}.
"Now" is each post's latest snapshot unless --now is given. The forecaster is the shipped
models/virality/<version>/forecaster.json (models_dir from the settings): the version named
"virality" in models/production.json, else the newest.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from pipelines.context import context_from_args
from pipelines.models import load_forecaster
from triage.errors import PantauError, RecordError
from triage.forecast import Forecaster
from triage.records import MetricSnapshot, parse_time
from triage.virality import DEFAULT_BASELINE_EPH, score_virality

log = logging.getLogger(__name__)



def register(sub: Any) -> None:
    p = sub.add_parser(
        "virality", help="score virality and forecast 24 h engagement of JSONL posts",
        description=__doc__.split("\n\n", 1)[1].strip() if __doc__ else None)
    p.add_argument("file", nargs="?", default="-", help="input JSONL file, or - for stdin (default)")
    p.add_argument("--now", help="score every post at this ISO-8601 time (default: its latest snapshot)")
    p.add_argument("--baseline", type=float, default=DEFAULT_BASELINE_EPH, metavar="EPH",
                   help=f"the agency's usual engagement per hour (default {DEFAULT_BASELINE_EPH:g})")
    p.add_argument("--model", metavar="VERSION", help="forecaster version under models/virality/")
    p.add_argument("--no-model", action="store_true",
                   help="use the built-in power-law forecast instead of the shipped model")
    p.add_argument("--details", action="store_true",
                   help="add the score's components, velocity and baseline ratio to each line")
    p.set_defaults(handler=cmd_virality)


def _lines(name: str) -> Iterator[tuple[int, str]]:
    handle: IO[bytes] = sys.stdin.buffer if name == "-" else open(name, "rb")  # noqa: SIM115
    with handle:
        for number, raw in enumerate(handle, start=1):
            yield number, raw.decode("utf-8", "replace")


def _followers(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RecordError(f"author_followers: not a count: {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise RecordError(f"author_followers: not a count: {value!r}") from None
    if number < 0:
        raise RecordError(f"author_followers: negative: {number}")
    return number


def score_line(row: Any, *, forecaster: Forecaster | None, baseline: float,
               now: Any = None, details: bool = False) -> dict[str, Any]:
    """One output object for one input object; raises RecordError with the reason."""
    if not isinstance(row, dict):
        raise RecordError(f"expected a JSON object, got {type(row).__name__}")
    created_at = parse_time(row.get("created_at"), field_name="created_at")
    raw_snaps = row.get("snapshots")
    if not isinstance(raw_snaps, list):
        raise RecordError("snapshots: missing or not a list")
    snaps = sorted((MetricSnapshot.from_dict(s) for s in raw_snaps), key=lambda s: s.at)
    if not snaps:
        raise RecordError("snapshots: none")
    at = parse_time(now, field_name="--now") if now is not None else snaps[-1].at
    if snaps[0].at > at:
        raise RecordError("no snapshot at or before now")
    if snaps[-1].at < created_at:
        raise RecordError("every snapshot is older than created_at")
    virality = score_virality(created_at, snaps, followers=_followers(row.get("author_followers")),
                              baseline_eph=baseline, now=at, forecaster=forecaster)
    forecast = virality.forecast
    out: dict[str, Any] = {
        "id": row.get("id"),
        "score": round(virality.score, 1),
        "forecast_24h": {"engagement": round(forecast.engagement, 1), "low": round(forecast.low, 1),
                         "high": round(forecast.high, 1)} if forecast else None,
    }
    if details:
        full = virality.to_dict()
        out.update({k: full[k] for k in ("engagement", "engagement_per_hour", "acceleration",
                                         "baseline_ratio", "components")})
        out["method"] = forecast.method if forecast else None
    return out


def cmd_virality(args: Any) -> int:
    if args.file != "-" and not Path(args.file).is_file():
        raise RecordError(f"file not found: {args.file}")
    if args.baseline <= 0:
        raise RecordError("--baseline must be above 0")
    if args.now is not None:
        parse_time(args.now, field_name="--now")  # a bad --now is the caller's error, not a row's
    forecaster = None
    if not args.no_model:
        forecaster = load_forecaster(context_from_args(args).settings.models_dir, args.model)
    out = sys.stdout
    bad = total = 0
    for number, line in _lines(args.file):
        if not line.strip():
            continue
        total += 1
        row: Any = None
        try:
            row = json.loads(line)
            result = score_line(row, forecaster=forecaster, baseline=args.baseline, now=args.now,
                                details=args.details)
        except ValueError as exc:  # RecordError is a PantauError, not a ValueError
            result = {"id": None, "error": f"line {number}: not valid JSON"} if row is None else \
                {"id": _id(row), "error": str(exc)}
        except PantauError as exc:
            result = {"id": _id(row), "error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - one bad post never stops the batch
            log.debug("line %d: %s", number, exc, exc_info=True)
            result = {"id": _id(row), "error": f"cannot score: {type(exc).__name__}"}
        if "error" in result:
            bad += 1
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 1 if total and bad == total else 0  # nothing scored at all is a failure


def _id(row: Any) -> Any:
    return row.get("id") if isinstance(row, dict) else None

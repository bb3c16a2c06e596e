"""Logging setup for the CLI: libraries log quietly, the CLI renders to stderr (text or JSON).

Log records never carry post text, handles or secrets above DEBUG: code logs counts, ids of
our own rows and stages only.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line; `extra={...}` fields (stage, counts, durations) are kept."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(data, default=str, ensure_ascii=False)


def setup_logging(*, verbosity: int = 0, fmt: str = "text", level: str = "WARNING") -> None:
    """Log to stderr at `level` (from the settings), or INFO / DEBUG with -v / -vv."""
    base = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(base, int):
        base = logging.WARNING
    level = base if verbosity <= 0 else min(base, logging.INFO if verbosity == 1 else logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("urllib3", "prawcore", "tweepy", "alembic", "apscheduler", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))

"""The application context every command and service starts from: settings, database, registry.

Built once per process at the edge (CLI, web app, worker) and passed down; nothing below reads
the environment itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from pipelines.registry import load_registry
from pipelines.settings import Settings, load_settings
from pipelines.store.db import open_database
from triage.agencies import Registry


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class AppContext:
    settings: Settings
    clock: Callable[[], datetime] = utc_now
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = open_database(self.settings.resolved_database_url)
        return self._engine

    @cached_property
    def registry(self) -> Registry:
        return load_registry(self.settings.registry_path)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def context_from_args(args: Any, **overrides: Any) -> AppContext:
    """Settings from CLI flags > env > config file > defaults."""
    flags: Mapping[str, Any] = {
        "database_url": getattr(args, "database_url", None),
        "data_dir": getattr(args, "data_dir", None),
        "log_format": getattr(args, "log_format", None),
        **overrides,
    }
    config = getattr(args, "config", None)
    settings = load_settings(flags, config_path=Path(config) if config else None)
    return AppContext(settings)

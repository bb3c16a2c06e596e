"""Settings: the one place that reads the environment and the config file.

Layering, highest first: explicit overrides (CLI flags) > environment (`PANTAU_*`) > config file
(`pantau.toml`, or the file named by `PANTAU_CONFIG` / `--config`) > defaults. Secrets are held
in `Secret`, which prints as `***`, so a settings object can be logged safely.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from triage.errors import PantauError

RESOURCES = Path(__file__).parent / "resources"
DEFAULT_CONFIG_FILE = "pantau.toml"


class SettingsError(PantauError):
    """A configuration value is missing or invalid."""


class Secret:
    """A secret string that never shows itself in repr/str/logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


# name -> (environment variable, kind); kind drives parsing and validation.
_ENV = {
    "data_dir": ("PANTAU_DATA_DIR", "path"),
    "database_url": ("PANTAU_DATABASE_URL", "str"),
    "registry_path": ("PANTAU_REGISTRY", "path"),
    "models_dir": ("PANTAU_MODELS_DIR", "path"),
    "pseudonym_key": ("PANTAU_PSEUDONYM_KEY", "secret"),
    "secret_key": ("PANTAU_SECRET_KEY", "secret"),
    "retention_days": ("PANTAU_RETENTION_DAYS", "int"),
    "log_format": ("PANTAU_LOG_FORMAT", "str"),
    "log_level": ("PANTAU_LOG_LEVEL", "str"),
    "x_bearer_token": ("PANTAU_X_BEARER_TOKEN", "secret"),
    "reddit_client_id": ("PANTAU_REDDIT_CLIENT_ID", "secret"),
    "reddit_client_secret": ("PANTAU_REDDIT_CLIENT_SECRET", "secret"),
    "reddit_user_agent": ("PANTAU_REDDIT_USER_AGENT", "str"),
}


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Build with `load_settings`, not directly."""

    data_dir: Path = Path("var")
    database_url: str = ""  # empty: SQLite file under data_dir
    registry_path: Path = RESOURCES / "agencies.toml"
    models_dir: Path = Path(__file__).resolve().parent.parent / "models"
    pseudonym_key: Secret = field(default_factory=lambda: Secret(""))
    secret_key: Secret = field(default_factory=lambda: Secret(""))
    retention_days: int = 30
    log_format: str = "text"  # "text" or "json"
    log_level: str = "WARNING"  # stderr stays quiet unless asked (-v, or INFO/DEBUG here)
    x_bearer_token: Secret = field(default_factory=lambda: Secret(""))
    reddit_client_id: Secret = field(default_factory=lambda: Secret(""))
    reddit_client_secret: Secret = field(default_factory=lambda: Secret(""))
    reddit_user_agent: str = "pantau/0.1 (public-service complaint monitor)"
    # Free-form sections of the config file, read by the parts that own them.
    sections: Mapping[str, Any] = field(default_factory=dict)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'pantau.db').resolve()}"

    def section(self, name: str) -> Mapping[str, Any]:
        value = self.sections.get(name, {})
        if not isinstance(value, Mapping):
            raise SettingsError(f"config section [{name}] must be a table")
        return value

    def require_pseudonym_key(self) -> bytes:
        """The HMAC key for author pseudonyms; its absence is a startup error outside the demo."""
        if not self.pseudonym_key:
            raise SettingsError(
                "missing pseudonym key: set PANTAU_PSEUDONYM_KEY in the environment or "
                "pseudonym_key in the config file (any long random string; keep it secret)"
            )
        return self.pseudonym_key.get().encode()


def _parse(name: str, kind: str, raw: Any, origin: str) -> Any:
    if kind == "path":
        return Path(str(raw)).expanduser()
    if kind == "int":
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{origin}: {name} must be a whole number, got {raw!r}") from None
        if value < 0:
            raise SettingsError(f"{origin}: {name} must not be negative, got {value}")
        return value
    if kind == "secret":
        return raw if isinstance(raw, Secret) else Secret(str(raw))
    return str(raw)


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> Settings:
    """Build settings from overrides > env > config file > defaults, validating each value."""
    env = os.environ if env is None else env
    explicit = config_path or (Path(env["PANTAU_CONFIG"]) if env.get("PANTAU_CONFIG") else None)
    path = explicit or Path(DEFAULT_CONFIG_FILE)
    file_data = _read_config_file(path) if (explicit or path.exists()) else {}

    known = {f.name for f in fields(Settings)} - {"sections"}
    values: dict[str, Any] = {}
    sections: dict[str, Any] = {}
    for key, raw in file_data.items():
        if key in known:
            values[key] = _parse(key, _ENV[key][1], raw, f"config file {path}")
        elif isinstance(raw, dict):
            sections[key] = raw
        else:
            raise SettingsError(f"config file {path}: unknown setting {key!r}")
    for key, (var, kind) in _ENV.items():
        if env.get(var):
            values[key] = _parse(key, kind, env[var], f"environment {var}")
    for key, raw in (overrides or {}).items():
        if raw is None:
            continue
        if key not in known:
            raise SettingsError(f"unknown setting {key!r}")
        values[key] = _parse(key, _ENV[key][1], raw, "command line")

    settings = replace(Settings(), **values, sections=sections)
    if settings.log_format not in ("text", "json"):
        raise SettingsError(f"log_format must be 'text' or 'json', got {settings.log_format!r}")
    return settings

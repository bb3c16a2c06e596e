"""Reading the agency registry file (TOML) into `triage.agencies.Registry`."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from triage.agencies import Agency, Registry, RegistryError
from triage.taxonomy import SUBSTANCES


def _strings(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RegistryError(f"{where}: {key} must be a list of strings")
    return tuple(v.strip() for v in value if v.strip())


def parse_registry(data: dict[str, Any], *, source: str = "registry") -> Registry:
    entries = data.get("agency")
    if not isinstance(entries, list) or not entries:
        raise RegistryError(f"{source}: no [[agency]] entries")
    agencies = []
    for number, entry in enumerate(entries, start=1):
        where = f"{source}: agency #{number}"
        if not isinstance(entry, dict):
            raise RegistryError(f"{where}: must be a table")
        for key in ("id", "name", "substance"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise RegistryError(f"{where}: missing {key}")
        where = f"{source}: agency {entry['id']!r}"
        if entry["substance"] not in SUBSTANCES:
            raise RegistryError(f"{where}: unknown substance {entry['substance']!r}")
        handles = entry.get("handles", {})
        if not isinstance(handles, dict):
            raise RegistryError(f"{where}: handles must be a table of platform = [handles]")
        agencies.append(
            Agency(
                id=entry["id"].strip(),
                name=entry["name"].strip(),
                substance=entry["substance"],
                aliases=_strings(entry, "aliases", where),
                keywords=_strings(entry, "keywords", where),
                handles={p: _strings(handles, p, where) for p in handles},
                region=str(entry.get("region", "") or ""),
            )
        )
    return Registry(agencies)


def load_registry(path: Path) -> Registry:
    try:
        with Path(path).open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise RegistryError(f"agency registry not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"agency registry {path} is not valid TOML: {exc}") from None
    return parse_registry(data, source=str(path))

"""Collectors, one module per source, all yielding pages of the same `Post` records.

The registry maps a source name (the one spelling used in records, config, CLI and test
folders) to its module, imported only when asked for, so `import collectors` never pulls in
tweepy or praw.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# source name -> module holding NAME, VERSION, its collector class and normalisers
REGISTRY: dict[str, str] = {
    "file": "collectors.files",
    "x": "collectors.x",
    "reddit": "collectors.reddit",
}
# source name -> collector class in that module (the file importer is a function, read_pages)
CLASSES: dict[str, str] = {"x": "XCollector", "reddit": "RedditCollector"}


def names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def module(name: str) -> ModuleType:
    """The module of source `name`; KeyError names the known sources."""
    try:
        path = REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r} (known: {', '.join(REGISTRY)})") from None
    return importlib.import_module(path)


def collector_class(name: str) -> type:
    if name not in CLASSES:
        raise KeyError(f"source {name!r} has no collector class")
    return getattr(module(name), CLASSES[name])

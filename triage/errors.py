"""The root of Pantau's errors: callers catch `PantauError`; only the CLI renders it."""

from __future__ import annotations


class PantauError(Exception):
    """Base class of every error Pantau raises on purpose (bad input, bad config, ...)."""


class RecordError(PantauError):
    """A record (post, snapshot, provenance) has an invalid field."""

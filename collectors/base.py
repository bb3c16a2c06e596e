"""What every collector shares: the raw page record, errors and the page hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from triage.errors import PantauError
from triage.records import CollectedPost, Provenance


class CollectorError(PantauError):
    """A source cannot be collected (bad file, bad credentials, bad answer)."""


class CollectorAuthError(CollectorError):
    """The platform refused our credentials (401/403): the source stops until fixed."""


class CollectorRateLimited(CollectorError):
    """The platform asked us to wait; `until` says when the job may run again."""

    def __init__(self, message: str, until: datetime) -> None:
        super().__init__(message)
        self.until = until


class CollectorBudgetExhausted(CollectorError):
    """The monthly post budget of a source is used up."""


@dataclass(frozen=True, slots=True)
class RowError:
    """A malformed input row that was skipped."""

    line: int  # 1-based line (or CSV record) number in the input
    message: str  # what is wrong, without the row's content (it may hold personal data)


@dataclass(frozen=True, slots=True)
class RawPage:
    """A page as received from a source, with its provenance and the posts it holds."""

    body: str  # exactly as received (JSON text, CSV lines)
    provenance: Provenance  # who fetched it, when, from where; raw_sha256 hashes `body`
    posts: tuple[CollectedPost, ...]  # the posts normalised from it
    errors: tuple[RowError, ...] = ()  # rows of the page that could not be normalised
    position: str | None = None  # checkpoint value after this page (e.g. last line number)


@dataclass(frozen=True, slots=True)
class Fetched:
    """One page as a live collector fetched it: to store, then checkpoint (page.position) and bill."""

    page: RawPage
    billed: int  # what the platform counts against the source's monthly budget (X: posts; Reddit: 1 request)
    problems: tuple[str, ...] = ()  # what the page left out (deleted, protected, removed items)
    stats: dict[str, Any] = field(default_factory=dict)  # e.g. {"result_count": 37}


def sha256_text(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()

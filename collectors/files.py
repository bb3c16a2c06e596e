"""File import, the collector that needs no account: our JSONL, twarc2 output, tweet-harvest CSV.

The file is read as a stream of pages (chunks of lines; one line per page for twarc2, whose
lines are API response pages), so memory stays flat and a killed import resumes cleanly: pages
already stored are recognised by their hash and posts by their platform id.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from collectors import x_normalize
from collectors.base import CollectorError, RawPage, RowError, sha256_text
from triage.errors import RecordError
from triage.records import CollectedPost, MetricSnapshot, Post, Provenance, parse_time

NAME = "file"
VERSION = "0.1.0"
FORMATS = ("jsonl", "twarc2", "tweet-harvest")
PAGE_LINES = 500  # lines per stored raw page for line-oriented formats

TWEET_HARVEST_COLUMNS = ("id_str", "created_at", "full_text")
TWEET_HARVEST_TIME = "%a %b %d %H:%M:%S %z %Y"  # "Wed Jan 15 03:27:09 +0000 2025"


def detect_format(path: Path) -> str:
    """Guess the format from the extension and the first line."""
    if path.suffix.lower() == ".csv":
        return "tweet-harvest"
    try:
        with path.open("rb") as handle:
            first = handle.readline().decode("utf-8", "replace")
    except OSError as exc:
        raise CollectorError(f"cannot read {path}: {exc.strerror}") from None
    try:
        head = json.loads(first)
    except ValueError:
        raise CollectorError(
            f"cannot tell the format of {path.name}: give --format ({', '.join(FORMATS)})"
        ) from None
    if isinstance(head, dict) and "data" in head and ("includes" in head or "meta" in head):
        return "twarc2"
    return "jsonl"


def _numbered_lines(path: Path) -> Iterator[tuple[int, str | None]]:
    """(line number, text) for each non-empty line; text is None when it is not UTF-8."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield number, None
                continue
            if line.strip():
                yield number, line.rstrip("\r\n")


def _provenance(path: Path, fmt: str, query: str | None, fetched_at: datetime, body: str) -> Provenance:
    return Provenance(
        collector=NAME,
        collector_version=VERSION,
        query=query,
        endpoint=f"file:{path.name}#{fmt}",
        fetched_at=fetched_at,
        raw_sha256=sha256_text(body),
    )


def _jsonl_post(line: str) -> tuple[Post, str | None]:
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise RecordError(f"not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise RecordError("expected a JSON object")
    query = data.get("query")
    return Post.from_dict(data), (str(query) if query else None)


def _read_jsonl_pages(path: Path, fetched_at: datetime) -> Iterator[RawPage]:
    chunk: list[tuple[int, str | None]] = []
    for item in _numbered_lines(path):
        chunk.append(item)
        if len(chunk) >= PAGE_LINES:
            yield _jsonl_page(path, chunk, fetched_at)
            chunk = []
    if chunk:
        yield _jsonl_page(path, chunk, fetched_at)


def _jsonl_page(path: Path, chunk: list[tuple[int, str | None]], fetched_at: datetime) -> RawPage:
    body = "\n".join(line for _, line in chunk if line is not None)
    sha = sha256_text(body)
    posts: list[CollectedPost] = []
    errors: list[RowError] = []
    for number, line in chunk:
        if line is None:
            errors.append(RowError(number, "not valid UTF-8"))
            continue
        try:
            post, query = _jsonl_post(line)
        except RecordError as exc:
            errors.append(RowError(number, str(exc)))
            continue
        provenance = Provenance(NAME, VERSION, query, f"file:{path.name}#jsonl", fetched_at, sha)
        posts.append(CollectedPost(post, provenance))
    return RawPage(
        body=body,
        provenance=_provenance(path, "jsonl", None, fetched_at, body),
        posts=tuple(posts),
        errors=tuple(errors),
        position=str(chunk[-1][0]),
    )


def _read_twarc2_pages(path: Path, fetched_at: datetime) -> Iterator[RawPage]:
    for number, line in _numbered_lines(path):
        if line is None:
            yield RawPage("", _provenance(path, "twarc2", None, fetched_at, ""), (),
                          (RowError(number, "not valid UTF-8"),), str(number))
            continue
        provenance = _provenance(path, "twarc2", None, fetched_at, line)
        try:
            page = json.loads(line)
            if not isinstance(page, dict):
                raise RecordError("expected a JSON object (an API response page)")
            meta = page.get("__twarc") if isinstance(page.get("__twarc"), dict) else {}
            at = parse_time(meta["retrieved_at"]) if meta.get("retrieved_at") else fetched_at
            query = None
            if isinstance(meta.get("url"), str) and "query=" in meta["url"]:
                from urllib.parse import parse_qs, urlparse

                query = (parse_qs(urlparse(meta["url"]).query).get("query") or [None])[0]
            provenance = _provenance(path, "twarc2", query, at, line)
            posts, row_errors = x_normalize.normalize_page(page, at)
        except (ValueError, RecordError) as exc:
            message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            yield RawPage("", provenance, (), (RowError(number, f"unreadable page: {message}"),),
                          str(number))
            continue
        errors = tuple(RowError(number, e.message) for e in row_errors)
        yield RawPage(
            body=line,
            provenance=provenance,
            posts=tuple(CollectedPost(p, provenance) for p in posts),
            errors=errors,
            position=str(number),
        )


def _harvest_post(row: dict[str, str], fetched_at: datetime) -> Post:
    for column in TWEET_HARVEST_COLUMNS:
        if not (row.get(column) or "").strip():
            raise RecordError(f"column {column} is empty")
    try:
        created = datetime.strptime(row["created_at"].strip(), TWEET_HARVEST_TIME)
    except ValueError:
        created = parse_time(row["created_at"].strip(), field_name="created_at")
    tweet_id = row["id_str"].strip()
    if not tweet_id.isdigit():
        raise RecordError(f"id_str is not a tweet id: {tweet_id[:30]!r}")
    handle = (row.get("username") or "").strip() or None
    snapshot = MetricSnapshot.from_dict(
        {
            "at": fetched_at,
            "reposts": row.get("retweet_count"),
            "quotes": row.get("quote_count"),
            "replies": row.get("reply_count"),
            "likes": row.get("favorite_count"),
        }
    )
    return Post(
        platform="x",
        post_id=tweet_id,
        text=row["full_text"],
        created_at=parse_time(created),
        url=(row.get("tweet_url") or "").strip() or x_normalize.X_STATUS_URL.format(
            handle=handle or "i/web", id=tweet_id
        ),
        author_id=(row.get("user_id_str") or "").strip() or None,
        author_handle=handle,
        lang=_lang(row.get("lang")),
        conversation_id=(row.get("conversation_id_str") or "").strip() or None,
        metrics=(snapshot,),
    )


def _lang(value: object) -> str | None:
    """A tweet-harvest language code in ISO 639-1 (X's "in" is Indonesian "id")."""
    code = str(value or "").strip()
    return x_normalize.LANG_ALIASES.get(code, code or None)


def _read_harvest_pages(path: Path, fetched_at: datetime) -> Iterator[RawPage]:
    with path.open("rb") as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8", errors="replace", newline="")
        reader = csv.DictReader(text)
        missing = [c for c in TWEET_HARVEST_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CollectorError(
                f"{path.name} is not a tweet-harvest CSV: missing column(s) {', '.join(missing)}"
            )
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=reader.fieldnames or [], extrasaction="ignore")
        chunk: list[tuple[int, dict[str, str]]] = []
        record = 1  # the header is line 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                record = reader.line_num
                chunk.append((record, {"__error__": f"unreadable CSV: {exc}"}))
                continue
            record = reader.line_num
            chunk.append((record, row))
            if len(chunk) >= PAGE_LINES:
                yield _harvest_page(path, chunk, fetched_at, buffer, writer)
                chunk = []
        if chunk:
            yield _harvest_page(path, chunk, fetched_at, buffer, writer)


def _harvest_page(path, chunk, fetched_at, buffer, writer) -> RawPage:  # noqa: ANN001
    buffer.seek(0)
    buffer.truncate()
    for _, row in chunk:
        if "__error__" not in row:
            writer.writerow({k: v for k, v in row.items() if k is not None})
    body = buffer.getvalue()
    provenance = _provenance(path, "tweet-harvest", None, fetched_at, body)
    posts: list[CollectedPost] = []
    errors: list[RowError] = []
    for number, row in chunk:
        if "__error__" in row:
            errors.append(RowError(number, row["__error__"]))
            continue
        if None in row:
            errors.append(RowError(number, "more fields than the header"))
            continue
        try:
            posts.append(CollectedPost(_harvest_post(row, fetched_at), provenance))
        except RecordError as exc:
            errors.append(RowError(number, str(exc)))
    return RawPage(body, provenance, tuple(posts), tuple(errors), str(chunk[-1][0]))


_READERS: dict[str, Callable[[Path, datetime], Iterator[RawPage]]] = {
    "jsonl": _read_jsonl_pages,
    "twarc2": _read_twarc2_pages,
    "tweet-harvest": _read_harvest_pages,
}


def read_pages(path: Path, fmt: str | None, fetched_at: datetime) -> Iterator[RawPage]:
    """Pages of `path` in `fmt` (None: detect). Raises CollectorError for unusable files."""
    path = Path(path)
    if not path.exists():
        raise CollectorError(f"file not found: {path}")
    if not path.is_file():
        raise CollectorError(f"not a file: {path}")
    fmt = fmt or detect_format(path)
    if fmt not in _READERS:
        raise CollectorError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    return _READERS[fmt](path, fetched_at)

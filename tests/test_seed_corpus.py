"""The team's seed corpus (data/seed/*.jsonl): valid, big enough, balanced enough, not templated."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from datasketch import MinHash, MinHashLSH

from pipelines.registry import load_registry
from pipelines.settings import RESOURCES
from triage.taxonomy import KINDS, MALADMINISTRATION, SUBSTANCES

SEED_DIR = Path(__file__).resolve().parent.parent / "data" / "seed"
MIN_POSTS = 3000
MIN_PER_LABEL = 60
NEAR_DUPLICATE_JACCARD = 0.6  # on 5-word shingles
MAX_NEAR_DUPLICATE_SHARE = 0.05


def _rows() -> list[tuple[str, int, dict]]:
    rows = []
    for path in sorted(SEED_DIR.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                rows.append((path.name, number, line))
    return rows


ROWS = _rows()


def _parsed() -> list[dict]:
    return [json.loads(line) for _, _, line in ROWS]


def test_every_line_is_a_valid_labeled_post() -> None:
    problems = []
    ids = Counter()
    for name, number, line in ROWS:
        try:
            row = json.loads(line)
        except ValueError:
            problems.append(f"{name}:{number}: not JSON")
            continue
        where = f"{name}:{number}"
        if not isinstance(row.get("id"), str) or not row["id"]:
            problems.append(f"{where}: no id")
        ids[row.get("id")] += 1
        if not isinstance(row.get("text"), str) or not row["text"].strip():
            problems.append(f"{where}: no text")
        for field, allowed in (("kind", KINDS), ("substance", SUBSTANCES),
                               ("maladministration", MALADMINISTRATION)):
            if row.get(field) not in allowed:
                problems.append(f"{where}: {field} {row.get(field)!r} is not a label")
        if row.get("kind") != "aduan" and row.get("maladministration") != "tidak_ada":
            problems.append(f"{where}: maladministration must be tidak_ada when kind is not aduan")
    problems += [f"id {i!r} appears {n} times" for i, n in ids.items() if n > 1]
    assert not problems, "\n".join(problems[:50])


def test_corpus_is_big_enough() -> None:
    assert len(ROWS) >= MIN_POSTS


def test_every_registry_substance_has_enough_examples() -> None:
    registry = load_registry(RESOURCES / "agencies.toml")
    needed = sorted({agency.substance for agency in registry.agencies} - {"none"})
    counts = Counter(row["substance"] for row in _parsed())
    short = {s: counts[s] for s in needed if counts[s] < MIN_PER_LABEL}
    assert not short, f"substances with < {MIN_PER_LABEL} posts: {short}"


def test_every_maladministration_type_has_enough_examples() -> None:
    counts = Counter(row["maladministration"] for row in _parsed())
    short = {m: counts[m] for m in MALADMINISTRATION if counts[m] < MIN_PER_LABEL}
    assert not short, f"maladministration types with < {MIN_PER_LABEL} posts: {short}"


def _shingles(text: str, size: int = 5) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    if len(words) < size:
        return {" ".join(words)}
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def test_near_duplicates_stay_rare() -> None:
    """Posts written one by one, not from templates: few pairs share most of their 5-word runs."""
    texts = [row["text"] for row in _parsed()]
    shingles = [_shingles(t) for t in texts]
    near: set[int] = set()
    lsh = MinHashLSH(threshold=NEAR_DUPLICATE_JACCARD - 0.1, num_perm=64)  # candidates, then exact
    for i, sh in enumerate(shingles):
        m = MinHash(num_perm=64, seed=1)
        m.update_batch([s.encode("utf-8") for s in sh])
        for j in lsh.query(m):
            other = shingles[j]
            if len(sh & other) / len(sh | other) >= NEAR_DUPLICATE_JACCARD:
                near.update((i, j))
        lsh.insert(i, m)
    share = len(near) / len(texts)
    examples = [texts[i][:80] for i in sorted(near)[:10]]
    assert share < MAX_NEAR_DUPLICATE_SHARE, f"{share:.1%} near-duplicates, e.g. {examples}"

"""`pantau classify`, `pantau train`, `pantau evaluate`: the triage classifiers from the shell.

classify reads JSONL ({"id", "text", ...} per line; `-` for stdin) and writes one JSONL line per
post with its three labels; it works in batches, so memory stays flat on large files, and a bad
line is reported on stderr with its line number and skipped. evaluate scores the production
models on a labeled JSONL file (never trained on).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Any

from pipelines.context import context_from_args
from pipelines.models import load_classifier
from triage.classify import MODEL_NAMES
from triage.errors import PantauError
from triage.sector import with_agency_sectors

log = logging.getLogger(__name__)

BATCH_SIZE = 1000


class InputFileError(PantauError):
    """An input file cannot be opened."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "classify", help="label posts (JSONL in, JSONL out) with the production models",
        description="Read JSONL posts ({\"id\", \"text\"} per line) and write, per post, its kind, "
        "substance and maladministration with scores, alternatives and evidence.",
    )
    p.add_argument("file", nargs="?", default="-", help="JSONL input (default: - for stdin)")
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="posts per batch (default 1000)")
    p.set_defaults(handler=cmd_classify)

    p = subparsers.add_parser(
        "train", help="train the three classifiers into a new versioned artifact",
        description="Train kind, substance and maladministration on the seed corpus (and the review "
        "page's human labels), write models/<name>/<version>/ with metadata and model card.",
    )
    p.add_argument("--promote", action="store_true", help="make the new version the production one")
    p.add_argument("--seed", type=int, default=13, help="random seed (default 13)")
    p.add_argument("--with-human-labels", action="store_true",
                   help="add the human labels stored in the database (reviews table)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds for the card (0: skip)")
    p.add_argument("--dev", metavar="FILE", help="labeled JSONL to measure on (never trained on)")
    p.set_defaults(handler=cmd_train)

    p = subparsers.add_parser(
        "evaluate", help="score the production models on a labeled JSONL file",
        description="Per-class precision, recall, F1, macro-F1 and confusion matrix of each "
        "production model on a labeled JSONL file, and the issue's target figures.",
    )
    p.add_argument("file", help="labeled JSONL ({text, kind, substance, maladministration} per line)")
    p.add_argument("--json", action="store_true", help="one JSON object instead of text tables")
    p.set_defaults(handler=cmd_evaluate)


def _open(path: str) -> IO[str]:
    if path == "-":
        return sys.stdin
    try:
        return Path(path).open(encoding="utf-8")
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror}") from None


def _posts(handle: IO[str]) -> Iterator[tuple[str, str, str | None]]:
    """(id, text, query) of each valid line, query being the optional search that collected the
    post; invalid lines are reported on stderr and skipped."""
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            print(f"pantau: line {number}: not valid JSON, skipped", file=sys.stderr)
            continue
        if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("text"), str):
            print(f"pantau: line {number}: needs an \"id\" and a string \"text\", skipped",
                  file=sys.stderr)
            continue
        query = row.get("query")
        if query is not None and not isinstance(query, str):
            print(f"pantau: line {number}: \"query\" must be a string, skipped", file=sys.stderr)
            continue
        yield row["id"], row["text"], query


def cmd_classify(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise InputFileError("--batch-size must be at least 1")
    ctx = context_from_args(args)
    classifier = load_classifier(ctx.settings.models_dir)
    out = sys.stdout
    handle = _open(args.file)
    try:
        posts = _posts(handle)
        while batch := list(islice(posts, args.batch_size)):
            texts = [text for _, text, _ in batch]
            labels = with_agency_sectors(classifier.predict(texts), texts, ctx.registry,
                                         [query for _, _, query in batch])
            for (post_id, _, _), label in zip(batch, labels, strict=True):
                out.write(json.dumps({"id": post_id, **label.to_dict()}, ensure_ascii=False) + "\n")
            out.flush()
    finally:
        if handle is not sys.stdin:
            handle.close()
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from pipelines.train import human_labels, merge_human_labels, seed_corpus, train  # scikit-learn: slow

    ctx = context_from_args(args)
    examples = seed_corpus()
    if args.with_human_labels:
        human = human_labels(ctx.engine)
        log.info("%d posts with human labels from the database", len(human))
        examples = merge_human_labels(examples, human)
    dev = _read_rows(args.dev) if args.dev else None
    versions = train(examples, ctx.settings.models_dir, seed=args.seed, dev=dev,
                     do_promote=args.promote, folds=args.folds, registry=ctx.registry)
    print(json.dumps({"versions": versions, "promoted": args.promote,
                      "models_dir": str(ctx.settings.models_dir)}))
    return 0


def _read_rows(path: str) -> list[dict[str, Any]]:
    """Labeled rows of a JSONL file, labels checked against the label sets."""
    from pipelines.train import TrainingError, read_labeled

    if not Path(path).is_file():
        raise InputFileError(f"no such file: {path}")
    try:
        examples = read_labeled([Path(path)], source="eval")
    except TrainingError as exc:
        raise InputFileError(str(exc)) from None
    return [{"id": e.id, "text": e.text, "query": e.query, "kind": e.kind, "substance": e.substance,
             "maladministration": e.maladministration} for e in examples]


def cmd_evaluate(args: argparse.Namespace) -> int:
    from pipelines.train import evaluate_rows

    ctx = context_from_args(args)
    rows = _read_rows(args.file)
    if not rows:
        raise InputFileError(f"{args.file} has no labeled rows")
    classifier = load_classifier(ctx.settings.models_dir)
    reports, targets = evaluate_rows(classifier, rows, ctx.registry)
    if args.json:
        print(json.dumps({"file": args.file, "n": len(rows), "models": classifier.versions,
                          "reports": {n: reports[n].to_dict() for n in MODEL_NAMES},
                          "targets": targets}, ensure_ascii=False))
        return 0
    print(f"{args.file}: {len(rows)} posts; models " + ", ".join(classifier.versions.values()))
    for name in MODEL_NAMES:
        print()
        if name == "maladministration":
            print("(maladministration: gold aduan posts only, with the label the classifier gives)")
        print(reports[name].render())
    print()
    print("targets:")
    print(f"  kind macro-F1                      {targets['kind_macro_f1']:.3f}  (>= 0.75)")
    print(f"  kind aduan-vs-rest F1              {targets['aduan_vs_rest_f1']:.3f}  (>= 0.85)")
    print(f"  substance accuracy (gold not none) {targets['substance_accuracy_not_none']:.3f}  (>= 0.85)")
    print(f"    text names an agency             {targets['substance_accuracy_names_agency']:.3f}  "
          f"(n={targets['substance_rows_names_agency']})")
    print(f"    text names none                  {targets['substance_accuracy_names_none']:.3f}  "
          f"(n={targets['substance_rows_names_none']}; a line's \"query\" can name it)")
    print(f"  maladministration macro-F1 (aduan, {targets['maladministration_types_scored']} types "
          f"with >= 5) {targets['maladministration_macro_f1_aduan']:.3f}  (>= 0.45)")
    return 0
